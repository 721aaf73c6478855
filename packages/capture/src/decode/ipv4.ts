// IPv4 header (RFC 791). The payload is cut to the header's total length (Ethernet pads short
// frames) and to what was captured.
import { DecodeError, formatIpv4, need, view } from "./addr.js";

export const IP_PROTOCOL = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

export interface Ipv4 {
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  options: Buffer;
  payload: Buffer;
}

export function decodeIpv4(buf: Buffer): Ipv4 {
  need("ipv4", buf, 20);
  const v = view(buf);
  const vihl = buf[0] as number;
  if (vihl >> 4 !== 4) throw new DecodeError("ipv4", `version ${vihl >> 4}`);
  const headerLength = (vihl & 0x0f) * 4;
  if (headerLength < 20) throw new DecodeError("ipv4", `header length ${headerLength}`);
  need("ipv4", buf, headerLength);
  const totalLength = v.getUint16(2);
  const frag = v.getUint16(6);
  return {
    headerLength,
    dscp: (buf[1] as number) >> 2,
    ecn: (buf[1] as number) & 3,
    totalLength,
    id: v.getUint16(4),
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset: (frag & 0x1fff) * 8,
    ttl: buf[8] as number,
    protocol: buf[9] as number,
    checksum: v.getUint16(10),
    src: formatIpv4(buf, 12),
    dst: formatIpv4(buf, 16),
    options: buf.subarray(20, headerLength),
    payload: buf.subarray(headerLength, Math.max(headerLength, Math.min(buf.length, totalLength))),
  };
}
