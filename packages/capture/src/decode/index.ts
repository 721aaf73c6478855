export { DecodeError, formatIpv4, formatIpv6, formatMac, TruncatedError } from "./addr.js";
export { type Arp, decodeArp } from "./arp.js";
export {
  DHCP_MAGIC_COOKIE,
  DHCP_MESSAGE_TYPES,
  type DhcpMessageType,
  type Dhcpv4,
  decodeDhcpv4,
} from "./dhcpv4.js";
export { decodeEthernet, ETHERTYPE, type Ethernet } from "./ethernet.js";
export { type DecodedFrame, decodeFrame } from "./frame.js";
export {
  decodeIcmpv6,
  type Icmpv6,
  ND_TYPES,
  type NdOptions,
  type NdPrefix,
  type NeighborDiscovery,
} from "./icmpv6-nd.js";
export { decodeIpv4, IP_PROTOCOL, type Ipv4 } from "./ipv4.js";
export { decodeIpv6, type Ipv6 } from "./ipv6.js";
export { decodeTcp, type Tcp, type TcpFlags } from "./tcp.js";
export { decodeUdp, type Udp } from "./udp.js";
export { decodeVlanTag, decodeVlanTci, VLAN_TPIDS, type VlanTag } from "./vlan.js";
