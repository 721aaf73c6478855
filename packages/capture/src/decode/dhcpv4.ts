// DHCPv4 messages (RFC 2131/2132): the fixed BOOTP part and the options, with the ones a server
// and IP snooping need decoded (message type, requested address, server id, client id, ...).
import { DecodeError, formatIpv4, formatMac, need, view } from "./addr.js";

export const DHCP_MESSAGE_TYPES = {
  1: "DISCOVER",
  2: "OFFER",
  3: "REQUEST",
  4: "DECLINE",
  5: "ACK",
  6: "NAK",
  7: "RELEASE",
  8: "INFORM",
} as const;
export type DhcpMessageType = (typeof DHCP_MESSAGE_TYPES)[keyof typeof DHCP_MESSAGE_TYPES];

export const DHCP_MAGIC_COOKIE = 0x63825363;

export interface Dhcpv4 {
  /** 1 BOOTREQUEST, 2 BOOTREPLY. */
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  broadcast: boolean;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address (MAC when htype 1 and hlen 6). */
  chaddr: string;
  sname: string;
  file: string;
  /** Every option, by code, raw (in the order first seen; repeated options concatenated). */
  options: Map<number, Buffer>;
  messageType?: DhcpMessageType;
  requestedIp?: string;
  serverId?: string;
  leaseTime?: number;
  subnetMask?: string;
  routers?: string[];
  dnsServers?: string[];
  hostname?: string;
  clientId?: Buffer;
  parameterRequestList?: number[];
}

const cString = (b: Buffer) => {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString("latin1");
};
const ipList = (b: Buffer) => {
  const out: string[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push(formatIpv4(b, i));
  return out;
};

export function decodeDhcpv4(buf: Buffer): Dhcpv4 {
  need("dhcpv4", buf, 240);
  const v = view(buf);
  if (v.getUint32(236) !== DHCP_MAGIC_COOKIE)
    throw new DecodeError("dhcpv4", "no magic cookie (plain BOOTP?)");
  const hlen = buf[2] as number;
  const options = new Map<number, Buffer>();
  let off = 240;
  while (off < buf.length) {
    const code = buf[off] as number;
    if (code === 255) break;
    if (code === 0) {
      off++;
      continue;
    }
    if (off + 2 > buf.length) break;
    const len = buf[off + 1] as number;
    const data = buf.subarray(off + 2, Math.min(buf.length, off + 2 + len));
    const prev = options.get(code);
    options.set(code, prev ? Buffer.concat([prev, data]) : data); // RFC 3396 long options
    off += 2 + len;
  }
  const msg: Dhcpv4 = {
    op: buf[0] as number,
    htype: buf[1] as number,
    hlen,
    hops: buf[3] as number,
    xid: v.getUint32(4),
    secs: v.getUint16(8),
    broadcast: (v.getUint16(10) & 0x8000) !== 0,
    ciaddr: formatIpv4(buf, 12),
    yiaddr: formatIpv4(buf, 16),
    siaddr: formatIpv4(buf, 20),
    giaddr: formatIpv4(buf, 24),
    chaddr:
      hlen === 6
        ? formatMac(buf, 28)
        : buf
            .subarray(28, 28 + Math.min(hlen, 16))
            .toString("hex")
            .replace(/(..)(?!$)/g, "$1:"),
    sname: cString(buf.subarray(44, 108)),
    file: cString(buf.subarray(108, 236)),
    options,
  };
  const o = (c: number) => options.get(c);
  const t = o(53);
  if (t && t.length >= 1) msg.messageType = DHCP_MESSAGE_TYPES[t[0] as keyof typeof DHCP_MESSAGE_TYPES];
  const ip = (c: number) => {
    const b = o(c);
    return b && b.length >= 4 ? formatIpv4(b, 0) : undefined;
  };
  const requestedIp = ip(50);
  if (requestedIp) msg.requestedIp = requestedIp;
  const serverId = ip(54);
  if (serverId) msg.serverId = serverId;
  const mask = ip(1);
  if (mask) msg.subnetMask = mask;
  const lease = o(51);
  if (lease && lease.length >= 4) msg.leaseTime = lease.readUInt32BE(0);
  if (o(3)) msg.routers = ipList(o(3) as Buffer);
  if (o(6)) msg.dnsServers = ipList(o(6) as Buffer);
  if (o(12)) msg.hostname = (o(12) as Buffer).toString("utf8");
  if (o(61)) msg.clientId = o(61) as Buffer;
  if (o(55)) msg.parameterRequestList = [...(o(55) as Buffer)];
  return msg;
}
