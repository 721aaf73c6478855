// ndmsg requests and replies (RTM_NEWNEIGH/DELNEIGH/GETNEIGH). Pure.

import { bytesToIp, bytesToMac, ipToBytes, macToBytes } from "../codec/addresses.js";
import { attrMap, parseAttrs, type RawAttr } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";
import { AttrWriter } from "../codec/writer.js";

export const NDMSG_LEN = 12;

export const NUD_STATES = {
  incomplete: C.NUD_INCOMPLETE,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
  delay: C.NUD_DELAY,
  probe: C.NUD_PROBE,
  failed: C.NUD_FAILED,
  noarp: C.NUD_NOARP,
  permanent: C.NUD_PERMANENT,
  none: C.NUD_NONE,
} as const;
export type NeighState = keyof typeof NUD_STATES;

export interface NeighRequest {
  family: number;
  index: number;
  address: string;
  mac?: string;
  state?: number;
  flags?: number;
}

export function encodeNeighBody(r: NeighRequest): Buffer {
  const w = new AttrWriter();
  const h = Buffer.alloc(NDMSG_LEN);
  h.writeUInt8(r.family, 0);
  h.writeInt32LE(r.index, 4);
  h.writeUInt16LE(r.state ?? C.NUD_PERMANENT, 8);
  h.writeUInt8(r.flags ?? 0, 10);
  w.bytes(h);
  w.attr(C.NDA_DST, ipToBytes(r.address));
  if (r.mac !== undefined) w.attr(C.NDA_LLADDR, macToBytes(r.mac));
  return w.finish();
}

export interface Neighbour {
  family: number;
  index: number;
  address: string;
  mac?: string;
  state: NeighState | number;
  flags: number;
  unknown: RawAttr[];
}

export function decodeNeighbour(body: Buffer): Neighbour {
  if (body.length < NDMSG_LEN) throw new NetlinkDecodeError("ndmsg too short", 16);
  const attrs = parseAttrs(body.subarray(NDMSG_LEN), 16 + NDMSG_LEN);
  const m = attrMap(attrs);
  const stateNum = body.readUInt16LE(8);
  const state = (Object.entries(NUD_STATES).find(([, v]) => v === stateNum)?.[0] as NeighState) ?? stateNum;
  const n: Neighbour = {
    family: body.readUInt8(0),
    index: body.readInt32LE(4),
    address: bytesToIp(m.get(C.NDA_DST)?.data ?? Buffer.alloc(0)),
    state,
    flags: body.readUInt8(10),
    unknown: attrs.filter(
      (a) => a.type !== C.NDA_DST && a.type !== C.NDA_LLADDR && a.type !== C.NDA_CACHEINFO,
    ),
  };
  const ll = m.get(C.NDA_LLADDR);
  if (ll) n.mac = bytesToMac(ll.data);
  return n;
}

export function encodeNeighDumpBody(family: number, index = 0): Buffer {
  const h = Buffer.alloc(NDMSG_LEN);
  h.writeUInt8(family, 0);
  h.writeInt32LE(index, 4);
  return h;
}
