// Ethernet II + IPv6 framing for the DHCPv6 server and the router advertiser. Received frames are
// walked through their extension headers (a guest may put a Hop-by-Hop, Destination Options or
// Routing header before UDP/ICMPv6; a fragment is never reassembled here), sent frames are built
// whole, with the upper-layer checksum over the IPv6 pseudo-header (RFC 8200 8.1). Pure.
import { internetChecksum } from "../dhcp/frame.js";

export const ETHERTYPE_IPV6 = 0x86dd;
const ETH_HEADER = 14;
const IPV6_HEADER = 40;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DESTINATION_OPTIONS = 60;
/** More than this many extension headers before the payload is not a message for us. */
const MAX_EXTENSION_HEADERS = 8;

export interface Ipv6Packet {
  dstMac: Buffer;
  srcMac: Buffer;
  srcIp: Buffer;
  dstIp: Buffer;
  hopLimit: number;
  /** The upper-layer protocol (17 or 58 for us) after any extension headers. */
  protocol: number;
  /** Upper-layer bytes (UDP header + data, or the ICMPv6 message), Ethernet padding cut off. */
  upper: Buffer;
  extensionHeaders: number;
}

export type Ipv6FrameDropReason = "short-frame" | "bad-ip-header" | "bad-extension-header" | "fragmented";

export type ParsedIpv6Frame =
  | { kind: "packet"; packet: Ipv6Packet }
  | { kind: "ignore"; reason: "not-ipv6" | "other-protocol" | "later-fragment" }
  | { kind: "drop"; reason: Ipv6FrameDropReason };

/**
 * What a frame is. `wanted(protocol, upper)` says whether a first fragment holding this upper
 * layer would have been ours (then it is dropped as "fragmented"; other fragments are ignored).
 */
export function parseIpv6Frame(
  frame: Buffer,
  wanted: (protocol: number, upper: Buffer) => boolean = () => true,
): ParsedIpv6Frame {
  if (frame.length < ETH_HEADER) return { kind: "drop", reason: "short-frame" };
  if (frame.readUInt16BE(12) !== ETHERTYPE_IPV6) return { kind: "ignore", reason: "not-ipv6" };
  const ip = ETH_HEADER;
  if (frame.length < ip + IPV6_HEADER) return { kind: "drop", reason: "short-frame" };
  if ((frame[ip] as number) >> 4 !== 6) return { kind: "drop", reason: "bad-ip-header" };
  const payloadLength = frame.readUInt16BE(ip + 4);
  // Jumbograms (payload length 0) do not exist on an Ethernet TAP.
  const end = ip + IPV6_HEADER + payloadLength;
  if (payloadLength === 0 || end > frame.length) return { kind: "drop", reason: "bad-ip-header" };
  let next = frame[ip + 6] as number;
  let at = ip + IPV6_HEADER;
  let headers = 0;
  let fragmented = false;
  while (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS || next === FRAGMENT) {
    // Hop-by-Hop is only allowed first (RFC 8200 4.3).
    if (next === HOP_BY_HOP && headers > 0) return { kind: "drop", reason: "bad-extension-header" };
    headers += 1;
    if (headers > MAX_EXTENSION_HEADERS || at + 8 > end)
      return { kind: "drop", reason: "bad-extension-header" };
    const following = frame[at] as number;
    if (next === FRAGMENT) {
      if ((frame.readUInt16BE(at + 2) & 0xfff8) !== 0) return { kind: "ignore", reason: "later-fragment" };
      fragmented = true;
      at += 8;
    } else {
      const length = ((frame[at + 1] as number) + 1) * 8;
      if (at + length > end) return { kind: "drop", reason: "bad-extension-header" };
      at += length;
    }
    next = following;
  }
  if (next !== IPPROTO_UDP && next !== IPPROTO_ICMPV6) return { kind: "ignore", reason: "other-protocol" };
  const upper = frame.subarray(at, end);
  if (fragmented) {
    return wanted(next, upper)
      ? { kind: "drop", reason: "fragmented" }
      : { kind: "ignore", reason: "other-protocol" };
  }
  return {
    kind: "packet",
    packet: {
      dstMac: frame.subarray(0, 6),
      srcMac: frame.subarray(6, 12),
      srcIp: frame.subarray(ip + 8, ip + 24),
      dstIp: frame.subarray(ip + 24, ip + 40),
      hopLimit: frame[ip + 7] as number,
      protocol: next,
      upper,
      extensionHeaders: headers,
    },
  };
}

/** The sum of the IPv6 pseudo-header (RFC 8200 8.1), to start an upper-layer checksum with. */
function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, length: number, protocol: number): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) {
    sum +=
      (((src[i] as number) << 8) | (src[i + 1] as number)) +
      (((dst[i] as number) << 8) | (dst[i + 1] as number));
  }
  return sum + (length >>> 16) + (length & 0xffff) + protocol;
}

/** The checksum of `upper` (its own checksum field included): 0 when the sum verifies. */
export function upperLayerChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  upper: Uint8Array,
): number {
  return internetChecksum(upper, 0, upper.length, pseudoHeaderSum(src, dst, upper.length, protocol));
}

export interface Ipv6FrameSpec {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  hopLimit: number;
  protocol: typeof IPPROTO_UDP | typeof IPPROTO_ICMPV6;
  /** UDP header + data or an ICMPv6 message; its checksum field is filled in here. */
  upper: Uint8Array;
}

/** A complete frame, checksum computed (nothing left to offload). */
export function buildIpv6Frame(spec: Ipv6FrameSpec): Buffer {
  const f = Buffer.alloc(ETH_HEADER + IPV6_HEADER + spec.upper.length);
  f.set(spec.dstMac.subarray(0, 6), 0);
  f.set(spec.srcMac.subarray(0, 6), 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  const ip = ETH_HEADER;
  f.writeUInt32BE(0x60000000, ip);
  f.writeUInt16BE(spec.upper.length, ip + 4);
  f[ip + 6] = spec.protocol;
  f[ip + 7] = spec.hopLimit;
  f.set(spec.srcIp.subarray(0, 16), ip + 8);
  f.set(spec.dstIp.subarray(0, 16), ip + 24);
  const upper = ip + IPV6_HEADER;
  f.set(spec.upper, upper);
  const checksumAt = upper + (spec.protocol === IPPROTO_UDP ? 6 : 2);
  f.writeUInt16BE(0, checksumAt);
  let sum = upperLayerChecksum(spec.srcIp, spec.dstIp, spec.protocol, f.subarray(upper));
  // UDP over IPv6 must carry a checksum; a computed zero is sent as all ones (RFC 8200 8.1).
  if (sum === 0 && spec.protocol === IPPROTO_UDP) sum = 0xffff;
  f.writeUInt16BE(sum, checksumAt);
  return f;
}

/** A UDP header (checksum left zero for buildIpv6Frame) followed by `data`. */
export function udpDatagram(srcPort: number, dstPort: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  b.writeUInt16BE(b.length, 4);
  b.set(data, 8);
  return b;
}
