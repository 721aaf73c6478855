// rtmsg requests and replies (RTM_NEWROUTE/DELROUTE/GETROUTE). Pure.

import { bytesToIp, ipToBytes } from "../codec/addresses.js";
import { attrMap, parseAttrs, type RawAttr, read } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";
import { AttrWriter } from "../codec/writer.js";

export const RTMSG_LEN = 12;
const RTNH_LEN = 8;

export interface NextHop {
  gateway?: string;
  index?: number;
  /** 1-256, as `ip route ... weight N`. */
  weight?: number;
  onlink?: boolean;
}

export interface RouteRequest {
  family: number;
  dst?: string;
  dstPrefix: number;
  src?: string;
  srcPrefix?: number;
  gateway?: string;
  index?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  onlink?: boolean;
  metric?: number;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
  multipath?: NextHop[];
}

export function encodeRouteBody(r: RouteRequest): Buffer {
  const w = new AttrWriter();
  const table = r.table ?? C.RT_TABLE_MAIN;
  const h = Buffer.alloc(RTMSG_LEN);
  h.writeUInt8(r.family, 0);
  h.writeUInt8(r.dstPrefix, 1);
  h.writeUInt8(r.srcPrefix ?? 0, 2);
  h.writeUInt8(table < 256 ? table : C.RT_TABLE_UNSPEC, 4);
  h.writeUInt8(r.protocol ?? 0, 5);
  h.writeUInt8(r.scope ?? 0, 6);
  h.writeUInt8(r.type ?? 0, 7);
  h.writeUInt32LE(r.onlink ? C.RTNH_F_ONLINK : 0, 8);
  w.bytes(h);
  if (r.dst !== undefined) w.attr(C.RTA_DST, ipToBytes(r.dst));
  if (r.src !== undefined) w.attr(C.RTA_SRC, ipToBytes(r.src));
  if (r.gateway !== undefined) w.attr(C.RTA_GATEWAY, ipToBytes(r.gateway));
  if (r.metric !== undefined) w.u32(C.RTA_PRIORITY, r.metric);
  if (r.prefsrc !== undefined) w.attr(C.RTA_PREFSRC, ipToBytes(r.prefsrc));
  if (table >= 256) w.u32(C.RTA_TABLE, table);
  if (r.mtu !== undefined || r.advmss !== undefined) {
    w.begin(C.RTA_METRICS);
    if (r.mtu !== undefined) w.u32(C.RTAX_MTU, r.mtu);
    if (r.advmss !== undefined) w.u32(C.RTAX_ADVMSS, r.advmss);
    w.end();
  }
  if (r.multipath) w.attr(C.RTA_MULTIPATH, encodeNextHops(r.multipath));
  if (r.index !== undefined) w.u32(C.RTA_OIF, r.index);
  return w.finish();
}

// struct rtnexthop { len u16, flags u8, hops u8 (weight-1), ifindex s32 } + its attributes.
function encodeNextHops(hops: NextHop[]): Buffer {
  const parts = hops.map((nh) => {
    const inner = new AttrWriter();
    if (nh.gateway !== undefined) inner.attr(C.RTA_GATEWAY, ipToBytes(nh.gateway));
    const attrs = inner.finish();
    const b = Buffer.alloc(RTNH_LEN + attrs.length);
    b.writeUInt16LE(RTNH_LEN + attrs.length, 0);
    b.writeUInt8(nh.onlink ? C.RTNH_F_ONLINK : 0, 2);
    b.writeUInt8((nh.weight ?? 1) - 1, 3);
    b.writeInt32LE(nh.index ?? 0, 4);
    attrs.copy(b, RTNH_LEN);
    return b;
  });
  return Buffer.concat(parts);
}

/** A route as the kernel reports it. */
export interface Route {
  family: number;
  /** "10.1.0.0/16", or "default". */
  dst: string;
  dstPrefix: number;
  src?: string;
  gateway?: string;
  index?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  metric?: number;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
  multipath?: NextHop[];
  unknown: RawAttr[];
}

const KNOWN = new Set([
  C.RTA_DST,
  C.RTA_SRC,
  C.RTA_GATEWAY,
  C.RTA_OIF,
  C.RTA_PRIORITY,
  C.RTA_PREFSRC,
  C.RTA_TABLE,
  C.RTA_METRICS,
  C.RTA_MULTIPATH,
  C.RTA_CACHEINFO,
  C.RTA_PREF,
]);

export function decodeRoute(body: Buffer): Route {
  if (body.length < RTMSG_LEN) throw new NetlinkDecodeError("rtmsg too short", 16);
  const attrs = parseAttrs(body.subarray(RTMSG_LEN), 16 + RTMSG_LEN);
  const m = attrMap(attrs);
  const family = body.readUInt8(0);
  const dstPrefix = body.readUInt8(1);
  const dstAttr = m.get(C.RTA_DST);
  const tableAttr = m.get(C.RTA_TABLE);
  const r: Route = {
    family,
    dst: dstAttr ? `${bytesToIp(dstAttr.data)}/${dstPrefix}` : dstPrefix === 0 ? "default" : "",
    dstPrefix,
    table: tableAttr ? read.u32(tableAttr) : body.readUInt8(4),
    protocol: body.readUInt8(5),
    scope: body.readUInt8(6),
    type: body.readUInt8(7),
    flags: body.readUInt32LE(8),
    unknown: attrs.filter((a) => !KNOWN.has(a.type)),
  };
  const src = m.get(C.RTA_SRC);
  if (src) r.src = `${bytesToIp(src.data)}/${body.readUInt8(2)}`;
  const gw = m.get(C.RTA_GATEWAY);
  if (gw) r.gateway = bytesToIp(gw.data);
  const oif = m.get(C.RTA_OIF);
  if (oif) r.index = read.u32(oif);
  const prio = m.get(C.RTA_PRIORITY);
  if (prio) r.metric = read.u32(prio);
  const pref = m.get(C.RTA_PREFSRC);
  if (pref) r.prefsrc = bytesToIp(pref.data);
  const metrics = m.get(C.RTA_METRICS);
  if (metrics) {
    for (const a of parseAttrs(metrics.data)) {
      if (a.type === C.RTAX_MTU) r.mtu = read.u32(a);
      if (a.type === C.RTAX_ADVMSS) r.advmss = read.u32(a);
    }
  }
  const mp = m.get(C.RTA_MULTIPATH);
  if (mp) r.multipath = decodeNextHops(mp.data);
  return r;
}

function decodeNextHops(b: Buffer): NextHop[] {
  const out: NextHop[] = [];
  let off = 0;
  while (off + RTNH_LEN <= b.length) {
    const len = b.readUInt16LE(off);
    if (len < RTNH_LEN || off + len > b.length) throw new NetlinkDecodeError(`rtnexthop length ${len}`, off);
    const nh: NextHop = { weight: b.readUInt8(off + 3) + 1, index: b.readInt32LE(off + 4) };
    if (b.readUInt8(off + 2) & C.RTNH_F_ONLINK) nh.onlink = true;
    for (const a of parseAttrs(b.subarray(off + RTNH_LEN, off + len))) {
      if (a.type === C.RTA_GATEWAY) nh.gateway = bytesToIp(a.data);
    }
    out.push(nh);
    off += (len + 3) & ~3;
  }
  return out;
}

export function encodeRouteDumpBody(family: number, table = 0): Buffer {
  const h = Buffer.alloc(RTMSG_LEN);
  h.writeUInt8(family, 0);
  h.writeUInt8(table < 256 ? table : 0, 4);
  return h;
}
