// The tcmsg layer shared by qdiscs, classes and filters: the 20-byte header (family, ifindex,
// handle, parent, info) followed by TCA_* attributes, and its decoding. Kind-specific options
// (TCA_OPTIONS) are written and read by the plugins in kinds/, filters/ and actions/.
import { AttrWriter, parseAttrs, type RawAttr, read } from "@vmnet/netlink-native/codec";
import * as C from "./constants.js";

export const TCMSG_LEN = C.SIZEOF_TCMSG;

export interface TcMsg {
  family: number;
  ifindex: number;
  handle: number;
  parent: number;
  /** Qdiscs: refcount; filters: priority << 16 | protocol (network order); classes: leaf handle. */
  info: number;
}

/** A request ready for NetlinkConnection.request(): type, NLM_F_* flags (without REQUEST/ACK), body. */
export interface TcRequest {
  type: number;
  flags: number;
  body: Buffer;
}

/** Writes the 20-byte tcmsg at the start of `b` (padding zeroed: `b` may be uninitialized). */
export function writeTcMsgAt(b: Buffer, m: Partial<TcMsg> & { ifindex: number }): void {
  b.writeUInt32LE((m.family ?? 0) & 0xff, 0); // family, then three bytes of padding
  b.writeInt32LE(m.ifindex, 4);
  b.writeUInt32LE((m.handle ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.parent ?? 0) >>> 0, 12);
  b.writeUInt32LE((m.info ?? 0) >>> 0, 16);
}

export function writeTcMsg(w: AttrWriter, m: Partial<TcMsg> & { ifindex: number }): void {
  const b = Buffer.allocUnsafe(TCMSG_LEN);
  writeTcMsgAt(b, m);
  w.bytes(b);
}

export function readTcMsg(body: Buffer): TcMsg {
  if (body.length < TCMSG_LEN) throw new Error(`tcmsg: ${body.length} bytes, needs ${TCMSG_LEN}`);
  return {
    family: body.readUInt8(0),
    ifindex: body.readInt32LE(4),
    handle: body.readUInt32LE(8),
    parent: body.readUInt32LE(12),
    info: body.readUInt32LE(16),
  };
}

/** Builds a tcmsg request: the header, TCA_KIND when given, then whatever `fill` adds. */
export function tcRequest(
  type: number,
  flags: number,
  header: Partial<TcMsg> & { ifindex: number },
  kind: string | undefined,
  fill?: (w: AttrWriter) => void,
): TcRequest {
  // Room for the rate tables (1 KiB each) that tbf and htb carry, so the buffer never grows.
  const w = new AttrWriter(kind === "tbf" ? 1280 : kind === "htb" ? 2400 : 256);
  writeTcMsg(w, header);
  if (kind !== undefined) w.string(C.TCA_KIND, kind);
  fill?.(w);
  return { type, flags, body: w.finish() };
}

/** Queue statistics the kernel attaches to every qdisc and class (TCA_STATS2). */
export interface TcStats {
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  backlog: number;
  qlen: number;
}

/** A tc object as the kernel reports it, before kind-specific decoding. */
export interface RawTcObject {
  header: TcMsg;
  kind: string;
  /** TCA_OPTIONS payload, undefined when absent. */
  options?: Buffer;
  chain?: number;
  stats?: TcStats;
  /** Every top-level attribute, unknown ones included. */
  attrs: RawAttr[];
}

/** Decodes the header and top-level attributes; `withStats` false skips the counters. */
export function decodeTcObject(body: Buffer, withStats = true): RawTcObject {
  const header = readTcMsg(body);
  const attrs = parseAttrs(body.subarray(TCMSG_LEN));
  const out: RawTcObject = { header, kind: "", attrs };
  for (const a of attrs) {
    if (a.type === C.TCA_KIND) out.kind = read.string(a);
    else if (a.type === C.TCA_OPTIONS) out.options = a.data;
    else if (a.type === C.TCA_CHAIN) out.chain = read.u32(a);
    else if (a.type === C.TCA_STATS2 && withStats) out.stats = decodeStats2(a.data);
  }
  return out;
}

/**
 * The header, kind and raw options of a tc object, read without an attribute list or counters:
 * what planning needs from each of the thousand qdiscs of a namespace-wide dump.
 */
export function decodeTcHead(body: Buffer): { header: TcMsg; kind: string; options?: Buffer } {
  const header = readTcMsg(body);
  const out: { header: TcMsg; kind: string; options?: Buffer } = { header, kind: "" };
  let at = TCMSG_LEN;
  while (at + 4 <= body.length) {
    const len = body.readUInt16LE(at);
    if (len < 4 || at + len > body.length) break;
    const type = body.readUInt16LE(at + 2) & 0x3fff;
    if (type === C.TCA_KIND) {
      const nul = body.indexOf(0, at + 4);
      out.kind = body.toString("utf8", at + 4, nul === -1 || nul > at + len ? at + len : nul);
    } else if (type === C.TCA_OPTIONS) out.options = body.subarray(at + 4, at + len);
    at += (len + 3) & ~3;
  }
  return out;
}

function decodeStats2(data: Buffer): TcStats {
  const s: TcStats = { bytes: 0, packets: 0, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 };
  for (const a of parseAttrs(data)) {
    if (a.type === C.TCA_STATS_BASIC && a.data.length >= 12) {
      s.bytes = Number(a.data.readBigUInt64LE(0));
      s.packets = a.data.readUInt32LE(8);
    } else if (a.type === C.TCA_STATS_PKT64 && a.data.length >= 8) {
      s.packets = Number(a.data.readBigUInt64LE(0));
    } else if (a.type === C.TCA_STATS_QUEUE && a.data.length >= 20) {
      s.qlen = a.data.readUInt32LE(0);
      s.backlog = a.data.readUInt32LE(4);
      s.drops = a.data.readUInt32LE(8);
      s.requeues = a.data.readUInt32LE(12);
      s.overlimits = a.data.readUInt32LE(16);
    }
  }
  return s;
}

/** Network-order 16-bit protocol as tcm_info's low half holds it (htons). */
export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}
