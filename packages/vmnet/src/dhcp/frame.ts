// Ethernet II + IPv4 + UDP framing for the packet socket. The server sees raw frames from the
// guest (whatever their destination MAC or IP, since the guest may have no address yet or may
// unicast to a server address nobody owns) and transmits complete frames, so both directions
// are built and checked here. Pure.
import { DHCP_SERVER_PORT } from "./packet.js";

export const ETH_HEADER = 14;
export const ETHERTYPE_IPV4 = 0x0800;
const IP_HEADER = 20;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;

export interface UdpDatagram {
  srcMac: Buffer;
  dstMac: Buffer;
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/**
 * What a received frame is: a UDP datagram to the DHCP server port, traffic that is not for us
 * (`ignore`, counted apart: a TAP carries all of the guest's traffic), or a frame meant for us
 * that is malformed (`drop`, with the reason counted).
 */
export type ParsedFrame =
  | { kind: "dhcp"; datagram: UdpDatagram }
  | { kind: "ignore"; reason: IgnoreReason }
  | { kind: "drop"; reason: FrameDropReason };
export type IgnoreReason = "not-ipv4" | "not-udp" | "not-dhcp-port" | "later-fragment";
export type FrameDropReason =
  | "short-frame"
  | "bad-ip-header"
  | "bad-ip-checksum"
  | "bad-udp-length"
  | "fragmented";

export function parseFrame(frame: Buffer): ParsedFrame {
  if (frame.length < ETH_HEADER) return { kind: "drop", reason: "short-frame" };
  if (frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return { kind: "ignore", reason: "not-ipv4" };
  const ip = ETH_HEADER;
  if (frame.length < ip + IP_HEADER) return { kind: "drop", reason: "short-frame" };
  const versionIhl = frame[ip] as number;
  const ihl = (versionIhl & 0x0f) * 4;
  if (versionIhl >> 4 !== 4 || ihl < IP_HEADER || frame.length < ip + ihl) {
    return { kind: "drop", reason: "bad-ip-header" };
  }
  if (frame[ip + 9] !== IPPROTO_UDP) return { kind: "ignore", reason: "not-udp" };
  const fragment = frame.readUInt16BE(ip + 6);
  // A later fragment carries no UDP header, so its port is unknown: not ours to judge.
  if ((fragment & 0x1fff) !== 0) return { kind: "ignore", reason: "later-fragment" };
  const udp = ip + ihl;
  if (frame.length < udp + UDP_HEADER) return { kind: "drop", reason: "short-frame" };
  const dstPort = frame.readUInt16BE(udp + 2);
  if (dstPort !== DHCP_SERVER_PORT) return { kind: "ignore", reason: "not-dhcp-port" };
  // Frames may carry Ethernet padding after the IP packet, never less than it claims.
  const totalLength = frame.readUInt16BE(ip + 2);
  if (totalLength < ihl + UDP_HEADER || ip + totalLength > frame.length) {
    return { kind: "drop", reason: "bad-ip-header" };
  }
  if (fragment & 0x2000) return { kind: "drop", reason: "fragmented" };
  if (internetChecksum(frame, ip, ihl) !== 0) return { kind: "drop", reason: "bad-ip-checksum" };
  const udpLength = frame.readUInt16BE(udp + 4);
  if (udpLength < UDP_HEADER || udpLength > totalLength - ihl)
    return { kind: "drop", reason: "bad-udp-length" };
  // The UDP checksum is deliberately not verified: a packet socket sees frames before checksum
  // offload completes them (CHECKSUM_PARTIAL from a veth or virtio peer), so a correct datagram
  // can carry a partial sum. ISC dhcpd dropping such packets ("bad udp checksums") is a known
  // failure we do not repeat. The DHCP decoder checks the payload itself.
  return {
    kind: "dhcp",
    datagram: {
      dstMac: frame.subarray(0, 6),
      srcMac: frame.subarray(6, 12),
      srcIp: frame.readUInt32BE(ip + 12),
      dstIp: frame.readUInt32BE(ip + 16),
      srcPort: frame.readUInt16BE(udp),
      dstPort,
      payload: frame.subarray(udp + UDP_HEADER, udp + udpLength),
    },
  };
}

/** A complete frame with both checksums computed (nothing is left to offload). */
export function buildFrame(d: UdpDatagram, ttl = 64): Buffer {
  const udpLength = UDP_HEADER + d.payload.length;
  const totalLength = IP_HEADER + udpLength;
  const f = Buffer.alloc(ETH_HEADER + totalLength);
  d.dstMac.copy(f, 0, 0, 6);
  d.srcMac.copy(f, 6, 0, 6);
  f.writeUInt16BE(ETHERTYPE_IPV4, 12);
  const ip = ETH_HEADER;
  f[ip] = 0x45;
  f[ip + 1] = 0x10; // low delay, as BOOTP servers traditionally mark replies
  f.writeUInt16BE(totalLength, ip + 2);
  f.writeUInt16BE(0, ip + 4);
  f.writeUInt16BE(0, ip + 6);
  f[ip + 8] = ttl;
  f[ip + 9] = IPPROTO_UDP;
  f.writeUInt32BE(d.srcIp >>> 0, ip + 12);
  f.writeUInt32BE(d.dstIp >>> 0, ip + 16);
  f.writeUInt16BE(internetChecksum(f, ip, IP_HEADER), ip + 10);
  const udp = ip + IP_HEADER;
  f.writeUInt16BE(d.srcPort, udp);
  f.writeUInt16BE(d.dstPort, udp + 2);
  f.writeUInt16BE(udpLength, udp + 4);
  d.payload.copy(f, udp + UDP_HEADER);
  f.writeUInt16BE(udpChecksum(f, ip, udp, udpLength), udp + 6);
  return f;
}

/** RFC 1071 one's complement sum of `length` bytes at `offset`, complemented. */
export function internetChecksum(b: Uint8Array, offset: number, length: number, initial = 0): number {
  let sum = initial;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < end) sum += (b[i] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function udpChecksum(f: Buffer, ip: number, udp: number, udpLength: number): number {
  // Pseudo-header: source, destination, zero + protocol, UDP length.
  let sum = 0;
  for (let i = 12; i < 20; i += 2) sum += f.readUInt16BE(ip + i);
  sum += IPPROTO_UDP + udpLength;
  const c = internetChecksum(f, udp, udpLength, sum);
  // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
  return c === 0 ? 0xffff : c;
}
