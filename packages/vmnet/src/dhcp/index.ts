// The DHCP server for guests: leases from CNI results, the server, and the pure codec pieces a
// caller may want for its own tests or tools.
export { type ClasslessRoute, decodeClasslessRoutes, encodeClasslessRoutes } from "./classless-routes.js";
export { decodeDomainSearch, encodeDomainSearch } from "./dns-search.js";
export { type LeasesFromResultOptions, leasesFromResult } from "./leases.js";
export { DhcpDecodeError } from "./options.js";
export { type DhcpMessage, decodeDhcpMessage, encodeDhcpMessage } from "./packet.js";
export { DEFAULT_LEASE_TIME_S, DEFAULT_SERVER_ID } from "./schema.js";
export { DhcpServer } from "./server.js";
export type {
  DhcpBinding,
  DhcpCounters,
  DhcpDropReason,
  DhcpEvent,
  DhcpLease,
  DhcpServerOptions,
  DhcpStats,
  RequestState,
} from "./types.js";
