// ARP for IPv4 over Ethernet (RFC 826): what IP snooping learns MAC/IP pairs from.
import { DecodeError, formatIpv4, formatMac, need, view } from "./addr.js";

export interface Arp {
  hardwareType: number;
  protocolType: number;
  /** 1 request, 2 reply. */
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export function decodeArp(buf: Buffer): Arp {
  need("arp", buf, 8);
  const v = view(buf);
  const hlen = buf[4] as number;
  const plen = buf[5] as number;
  if (hlen !== 6 || plen !== 4)
    throw new DecodeError("arp", `only Ethernet/IPv4 is decoded (hlen ${hlen}, plen ${plen})`);
  need("arp", buf, 28);
  return {
    hardwareType: v.getUint16(0),
    protocolType: v.getUint16(2),
    operation: v.getUint16(6),
    senderMac: formatMac(buf, 8),
    senderIp: formatIpv4(buf, 14),
    targetMac: formatMac(buf, 18),
    targetIp: formatIpv4(buf, 24),
  };
}
