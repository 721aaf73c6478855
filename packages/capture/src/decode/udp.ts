// UDP header (RFC 768).
import { need, view } from "./addr.js";

export interface Udp {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  payload: Buffer;
}

export function decodeUdp(buf: Buffer): Udp {
  need("udp", buf, 8);
  const v = view(buf);
  const length = v.getUint16(4);
  return {
    srcPort: v.getUint16(0),
    dstPort: v.getUint16(2),
    length,
    checksum: v.getUint16(6),
    payload: buf.subarray(8, Math.max(8, Math.min(buf.length, length))),
  };
}
