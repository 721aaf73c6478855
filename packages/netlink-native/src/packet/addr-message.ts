// ifaddrmsg requests and replies (RTM_NEWADDR/DELADDR/GETADDR). Pure.

import { bytesToIp, ipToBytes } from "../codec/addresses.js";
import { attrMap, parseAttrs, type RawAttr, read } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";
import { AttrWriter } from "../codec/writer.js";

export const IFADDRMSG_LEN = 8;

export interface AddrRequest {
  family: number;
  prefix: number;
  index: number;
  local: string;
  /** Point-to-point peer (IFA_ADDRESS differs from IFA_LOCAL). */
  peer?: string;
  broadcast?: string;
  /**
   * A broadcast derived from the prefix (iproute2's `brd +`): written after IFA_ADDRESS, where
   * iproute2 puts the one it computes.
   */
  derivedBroadcast?: string;
  scope?: number;
  flags?: number;
  label?: string;
  /** Lifetimes in seconds (0xffffffff = forever), sent as IFA_CACHEINFO. */
  preferredLifetime?: number;
  validLifetime?: number;
}

/** Forever, as the kernel writes an infinite address lifetime. */
export const INFINITY_LIFETIME = 0xffffffff;

/**
 * The broadcast address of `address/prefix` with every host bit set, as iproute2's `brd +`
 * computes it; undefined for /31 and /32, where iproute2 sets none.
 */
export function broadcastOf(address: string, prefix: number): string | undefined {
  if (prefix >= 31) return undefined;
  const v = ipToBytes(address).readUInt32BE(0);
  const host = prefix === 0 ? 0xffffffff : (1 << (32 - prefix)) - 1;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((v | host) >>> 0, 0);
  return bytesToIp(b);
}

export function encodeAddrBody(r: AddrRequest): Buffer {
  const w = new AttrWriter();
  const flags = r.flags ?? 0;
  // The ifaddrmsg and IPv4 addresses are written in place (no buffer per header or address).
  const at = w.reserveFixed(IFADDRMSG_LEN);
  const h = w.target;
  h.writeUInt8(r.family, at);
  h.writeUInt8(r.prefix, at + 1);
  h.writeUInt8(flags & 0xff, at + 2);
  h.writeUInt8(r.scope ?? 0, at + 3);
  h.writeUInt32LE(r.index, at + 4);
  w.ip(C.IFA_LOCAL, r.local);
  if (r.broadcast !== undefined) w.ip(C.IFA_BROADCAST, r.broadcast);
  if (r.label !== undefined) w.string(C.IFA_LABEL, r.label);
  w.ip(C.IFA_ADDRESS, r.peer ?? r.local);
  if (r.derivedBroadcast !== undefined) w.ip(C.IFA_BROADCAST, r.derivedBroadcast);
  // Flags above 8 bits only fit in IFA_FLAGS (iproute2 sends it only then).
  if (flags > 0xff) w.u32(C.IFA_FLAGS, flags);
  if (r.preferredLifetime !== undefined || r.validLifetime !== undefined) {
    // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
    const ci = Buffer.alloc(16);
    ci.writeUInt32LE(r.preferredLifetime ?? INFINITY_LIFETIME, 0);
    ci.writeUInt32LE(r.validLifetime ?? INFINITY_LIFETIME, 4);
    w.attr(C.IFA_CACHEINFO, ci);
  }
  return w.finish();
}

/** An address as the kernel reports it. */
export interface Address {
  family: number;
  index: number;
  /** The interface's own address (IFA_LOCAL, or IFA_ADDRESS where there is no local). */
  address: string;
  prefix: number;
  /** "10.0.0.1/24" */
  cidr: string;
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: number;
  flags: number;
  /** Valid/preferred lifetimes in seconds (0xffffffff = forever). */
  validLifetime?: number;
  preferredLifetime?: number;
  unknown: RawAttr[];
}

const KNOWN = new Set([
  C.IFA_ADDRESS,
  C.IFA_LOCAL,
  C.IFA_BROADCAST,
  C.IFA_LABEL,
  C.IFA_FLAGS,
  C.IFA_CACHEINFO,
]);

export function decodeAddress(body: Buffer): Address {
  if (body.length < IFADDRMSG_LEN) throw new NetlinkDecodeError("ifaddrmsg too short", 16);
  const attrs = parseAttrs(body.subarray(IFADDRMSG_LEN), 16 + IFADDRMSG_LEN);
  const m = attrMap(attrs);
  const local = m.get(C.IFA_LOCAL);
  const addr = m.get(C.IFA_ADDRESS);
  const address = bytesToIp((local ?? addr)?.data ?? Buffer.alloc(0));
  const prefix = body.readUInt8(1);
  const flagsAttr = m.get(C.IFA_FLAGS);
  const out: Address = {
    family: body.readUInt8(0),
    index: body.readUInt32LE(4),
    address,
    prefix,
    cidr: `${address}/${prefix}`,
    scope: body.readUInt8(3),
    flags: flagsAttr ? read.u32(flagsAttr) : body.readUInt8(2),
    unknown: attrs.filter((a) => !KNOWN.has(a.type)),
  };
  if (local && addr && !local.data.equals(addr.data)) out.peer = bytesToIp(addr.data);
  const brd = m.get(C.IFA_BROADCAST);
  if (brd) out.broadcast = bytesToIp(brd.data);
  const label = m.get(C.IFA_LABEL);
  if (label) out.label = read.string(label);
  const ci = m.get(C.IFA_CACHEINFO);
  if (ci && ci.data.length >= 8) {
    out.preferredLifetime = ci.data.readUInt32LE(0);
    out.validLifetime = ci.data.readUInt32LE(4);
  }
  return out;
}

/** An ifaddrmsg for a dump filtered by family (and, with strict checking, by index). */
export function encodeAddrDumpBody(family: number, index = 0): Buffer {
  const h = Buffer.alloc(IFADDRMSG_LEN);
  h.writeUInt8(family, 0);
  h.writeUInt32LE(index, 4);
  return h;
}
