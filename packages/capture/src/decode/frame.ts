// One call that decodes a captured frame through every layer it knows, stopping quietly at the
// first layer that is cut short or unknown (a snap length of 64 still yields Ethernet and IP).
import { DecodeError } from "./addr.js";
import { type Arp, decodeArp } from "./arp.js";
import { type Dhcpv4, decodeDhcpv4 } from "./dhcpv4.js";
import { decodeEthernet, ETHERTYPE, type Ethernet } from "./ethernet.js";
import { decodeIcmpv6, type Icmpv6 } from "./icmpv6-nd.js";
import { decodeIpv4, IP_PROTOCOL, type Ipv4 } from "./ipv4.js";
import { decodeIpv6, type Ipv6 } from "./ipv6.js";
import { decodeTcp, type Tcp } from "./tcp.js";
import { decodeUdp, type Udp } from "./udp.js";

export interface DecodedFrame {
  ethernet?: Ethernet;
  arp?: Arp;
  ipv4?: Ipv4;
  ipv6?: Ipv6;
  icmpv6?: Icmpv6;
  udp?: Udp;
  tcp?: Tcp;
  dhcpv4?: Dhcpv4;
  /** Why decoding stopped early, when it did (e.g. "udp: need 8 bytes, have 4"). */
  error?: string;
}

/** Decodes a frame of the given link type ("ethernet", or "raw" IP from a tun device). */
export function decodeFrame(data: Buffer, linkType: "ethernet" | "raw" = "ethernet"): DecodedFrame {
  const out: DecodedFrame = {};
  try {
    let etherType: number;
    let payload: Buffer;
    if (linkType === "ethernet") {
      out.ethernet = decodeEthernet(data);
      etherType = out.ethernet.etherType;
      payload = out.ethernet.payload;
    } else {
      etherType = (data[0] ?? 0) >> 4 === 6 ? ETHERTYPE.ipv6 : ETHERTYPE.ipv4;
      payload = data;
    }
    let protocol: number | undefined;
    if (etherType === ETHERTYPE.arp) {
      out.arp = decodeArp(payload);
      return out;
    }
    if (etherType === ETHERTYPE.ipv4) {
      out.ipv4 = decodeIpv4(payload);
      if (out.ipv4.fragmentOffset !== 0) return out; // a later fragment has no transport header
      protocol = out.ipv4.protocol;
      payload = out.ipv4.payload;
    } else if (etherType === ETHERTYPE.ipv6) {
      out.ipv6 = decodeIpv6(payload);
      protocol = out.ipv6.nextHeader;
      payload = out.ipv6.payload;
    } else {
      return out;
    }
    if (protocol === IP_PROTOCOL.udp) {
      out.udp = decodeUdp(payload);
      const { srcPort, dstPort } = out.udp;
      if (out.ipv4 && (srcPort === 67 || srcPort === 68 || dstPort === 67 || dstPort === 68)) {
        out.dhcpv4 = decodeDhcpv4(out.udp.payload);
      }
    } else if (protocol === IP_PROTOCOL.tcp) {
      out.tcp = decodeTcp(payload);
    } else if (protocol === IP_PROTOCOL.icmpv6 && out.ipv6) {
      out.icmpv6 = decodeIcmpv6(payload);
    }
  } catch (error) {
    // Only malformed bytes stop decoding quietly; anything else is a bug and is not hidden.
    if (!(error instanceof DecodeError)) throw error;
    out.error = error.message;
  }
  return out;
}
