// IPv6 header (RFC 8200), skipping the extension headers that can precede the upper layer
// (hop-by-hop, routing, fragment, destination options) so `nextHeader` names the payload.
import { DecodeError, formatIpv6, need, view } from "./addr.js";

const EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 44, 60]);

export interface Ipv6 {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** The upper-layer protocol, after any extension headers. */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  /** Extension header types passed over, in order. */
  extensions: number[];
  payload: Buffer;
}

export function decodeIpv6(buf: Buffer): Ipv6 {
  need("ipv6", buf, 40);
  const v = view(buf);
  const first = v.getUint32(0);
  if (first >>> 28 !== 6) throw new DecodeError("ipv6", `version ${first >>> 28}`);
  const payloadLength = v.getUint16(4);
  const end = Math.min(buf.length, 40 + payloadLength);
  let next = buf[6] as number;
  let off = 40;
  const extensions: number[] = [];
  while (EXTENSION_HEADERS.has(next) && off + 8 <= end) {
    extensions.push(next);
    const len = next === 44 ? 8 : ((buf[off + 1] as number) + 1) * 8;
    next = buf[off] as number;
    off += len;
  }
  return {
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader: next,
    hopLimit: buf[7] as number,
    src: formatIpv6(buf, 8),
    dst: formatIpv6(buf, 24),
    extensions,
    payload: buf.subarray(Math.min(off, end), end),
  };
}
