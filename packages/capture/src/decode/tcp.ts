// TCP header (RFC 9293).
import { DecodeError, need, view } from "./addr.js";

export interface TcpFlags {
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ack: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
}

export interface Tcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  headerLength: number;
  flags: TcpFlags;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: Buffer;
  payload: Buffer;
}

export function decodeTcp(buf: Buffer): Tcp {
  need("tcp", buf, 20);
  const v = view(buf);
  const headerLength = ((buf[12] as number) >> 4) * 4;
  if (headerLength < 20) throw new DecodeError("tcp", `header length ${headerLength}`);
  need("tcp", buf, headerLength);
  const f = buf[13] as number;
  return {
    srcPort: v.getUint16(0),
    dstPort: v.getUint16(2),
    seq: v.getUint32(4),
    ack: v.getUint32(8),
    headerLength,
    flags: {
      fin: (f & 0x01) !== 0,
      syn: (f & 0x02) !== 0,
      rst: (f & 0x04) !== 0,
      psh: (f & 0x08) !== 0,
      ack: (f & 0x10) !== 0,
      urg: (f & 0x20) !== 0,
      ece: (f & 0x40) !== 0,
      cwr: (f & 0x80) !== 0,
    },
    window: v.getUint16(14),
    checksum: v.getUint16(16),
    urgentPointer: v.getUint16(18),
    options: buf.subarray(20, headerLength),
    payload: buf.subarray(headerLength),
  };
}
