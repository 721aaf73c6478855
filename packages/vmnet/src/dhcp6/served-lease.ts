// A DHCPv6 lease turned into what goes on the wire, once per binding. Pure.
import { encodeDomainSearch } from "../dhcp/dns-search.js";
import { macBytes } from "../dhcp/mac.js";
import { parseIpv6 } from "./ipv6.js";
import { OPT, option } from "./message.js";
import type { Dhcp6Lease } from "./types.js";

export interface ServedLease6 {
  clientMac: Buffer;
  address: Buffer;
  prefixLength: number;
  preferredLifetimeS: number;
  validLifetimeS: number;
  t1: number;
  t2: number;
  /** Options 23 and 24 (those the lease has), sent with every reply that configures. */
  config: Buffer[];
}

export function serveLease6(lease: Dhcp6Lease): ServedLease6 {
  const config: Buffer[] = [];
  if (lease.nameservers.length > 0) {
    config.push(option(OPT.dnsServers, ...lease.nameservers.map((n) => parseIpv6(n) as Buffer)));
  }
  // RFC 8415 10: names in DHCPv6 options are never compressed, so each is encoded on its own.
  if (lease.search.length > 0) {
    config.push(option(OPT.domainList, ...lease.search.map((name) => encodeDomainSearch([name]))));
  }
  return {
    clientMac: macBytes(lease.clientMac),
    address: parseIpv6(lease.address) as Buffer,
    prefixLength: lease.prefixLength,
    preferredLifetimeS: lease.preferredLifetimeS,
    validLifetimeS: lease.validLifetimeS,
    // RFC 8415 21.4 recommends 0.5 and 0.8 of the shortest preferred lifetime.
    t1: Math.floor(lease.preferredLifetimeS * 0.5),
    t2: Math.floor(lease.preferredLifetimeS * 0.8),
    config,
  };
}
