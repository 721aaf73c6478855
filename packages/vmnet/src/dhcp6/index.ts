// The DHCPv6 server for guests (RFC 8415): leases from CNI results, the server, stable DUIDs, and
// the pure codec pieces a caller may want for its own tests or tools.
export { duidLl, stableDuid } from "./duid.js";
export { buildIpv6Frame, parseIpv6Frame, udpDatagram } from "./frame6.js";
export { formatIpv6, linkLocalFromMac, parseIpv6 } from "./ipv6.js";
export { type Leases6FromResultOptions, leases6FromResult } from "./leases6.js";
export {
  Dhcp6DecodeError,
  type Dhcp6Message,
  type Dhcp6Option,
  decodeDhcp6Message,
  decodeIaNa,
  decodeOptions,
  encodeDhcp6Message,
  MSG as DHCP6_MESSAGE,
  OPT as DHCP6_OPTION,
  STATUS as DHCP6_STATUS,
} from "./message.js";
export { DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT } from "./receive.js";
export { DEFAULT_LEASE_TIME_S as DEFAULT_LEASE6_TIME_S } from "./schema.js";
export { Dhcp6Server } from "./server.js";
export type {
  Dhcp6Binding,
  Dhcp6Counters,
  Dhcp6DropReason,
  Dhcp6Event,
  Dhcp6Lease,
  Dhcp6MessageName,
  Dhcp6ServerOptions,
  Dhcp6Stats,
} from "./types.js";
