// A lease turned into what goes on the wire: addresses as numbers and every option's bytes,
// computed once per binding rather than per reply. Pure.
//
// Routes: option 3 (routers) carries the default route's next hop. Whenever anything else needs
// saying (a non-default route, a next hop outside the subnet, an on-link default) option 121 is
// sent, and since RFC 3442 clients then ignore option 3, 121 repeats the default route. A next
// hop outside the subnet (a /32 with an on-link gateway, as Calico and the ptp plugin give) gets
// a host route "gateway/32 on-link" ahead of the routes through it, so no subnet is invented.
import { type ClasslessRoute, encodeClasslessRoutes } from "./classless-routes.js";
import { encodeDomainSearch } from "./dns-search.js";
import { broadcastOf, type Ipv4, inSubnet, parseIpv4, parseIpv4Cidr, prefixMask } from "./ipv4.js";
import { macBytes } from "./mac.js";
import { ipv4List, OPTION, u16, u32 } from "./options.js";
import type { DhcpLease } from "./types.js";

export interface ServedLease {
  clientMac: Buffer;
  address: Ipv4;
  prefixLength: number;
  serverId: Ipv4;
  leaseTimeS: number;
  /** Configuration options (everything but 53, 54 and the lease times), in preferred order. */
  config: [number, Buffer][];
  /** Option 51, 58, 59 values. */
  times: [number, Buffer][];
  /** The routes the guest will install (what option 121 says, or option 3's default). */
  classlessRoutes: ClasslessRoute[];
  routers: Ipv4[];
}

function ip(text: string): Ipv4 {
  const v = parseIpv4(text);
  if (v === undefined) throw new Error(`not an IPv4 address: ${text}`);
  return v;
}

/** Routes as the guest should see them: next hops resolved with CNI's rule, host routes added. */
export function guestRoutes(lease: DhcpLease): ClasslessRoute[] {
  const address = ip(lease.address);
  const gateway = lease.gateway === undefined ? undefined : ip(lease.gateway);
  const routes: ClasslessRoute[] = [];
  for (const r of lease.routes) {
    const dst = parseIpv4Cidr(r.dst);
    if (!dst) throw new Error(`not an IPv4 CIDR: ${r.dst}`);
    const router = r.gw !== undefined ? ip(r.gw) : (gateway ?? 0);
    // The subnet's own route comes from the mask; repeating it would only make clients fail
    // to add an existing route.
    if (
      router === 0 &&
      dst.prefixLength === lease.prefixLength &&
      inSubnet(dst.network, address, dst.prefixLength)
    ) {
      continue;
    }
    routes.push({ destination: dst.network, prefixLength: dst.prefixLength, router });
  }
  const onLink = (hop: Ipv4) =>
    inSubnet(hop, address, lease.prefixLength) ||
    routes.some((r) => r.router === 0 && r.prefixLength > 0 && inSubnet(hop, r.destination, r.prefixLength));
  const hostRoutes: ClasslessRoute[] = [];
  for (const r of routes) {
    if (r.router !== 0 && !onLink(r.router) && !hostRoutes.some((h) => h.destination === r.router)) {
      hostRoutes.push({ destination: r.router, prefixLength: 32, router: 0 });
    }
  }
  // On-link routes first (clients add routes in order and a next hop must be reachable when its
  // route is added), then the rest as CNI listed them, the default route last.
  const direct = routes.filter((r) => r.router === 0);
  const viaHop = routes.filter((r) => r.router !== 0 && r.prefixLength > 0);
  const defaults = routes.filter((r) => r.router !== 0 && r.prefixLength === 0);
  return [...hostRoutes, ...direct, ...viaHop, ...defaults];
}

export function serveLease(lease: DhcpLease, serverId: string): ServedLease {
  const address = ip(lease.address);
  const routes = guestRoutes(lease);
  const defaultRoute = routes.find((r) => r.prefixLength === 0);
  const routers = defaultRoute && defaultRoute.router !== 0 ? [defaultRoute.router] : [];
  // Option 3 alone says it all only for "default via a router in the subnet" (or no route).
  const needClassless = routes.some(
    (r) => r.prefixLength !== 0 || r.router === 0 || !inSubnet(r.router, address, lease.prefixLength),
  );
  const config: [number, Buffer][] = [[OPTION.SUBNET_MASK, u32(prefixMask(lease.prefixLength))]];
  // Option 28 for every prefix but /31 (RFC 3021 point-to-point links have no broadcast). For a
  // /32 it is the address itself, what `ip addr add a/32 brd +` sets; without it, scripts that
  // use ifconfig (Debian's udhcpc script) install the classful broadcast, 10.255.255.255.
  if (lease.prefixLength !== 31) {
    config.push([OPTION.BROADCAST_ADDRESS, u32(broadcastOf(address, lease.prefixLength))]);
  }
  if (routers.length > 0) config.push([OPTION.ROUTERS, ipv4List(routers)]);
  if (needClassless) config.push([OPTION.CLASSLESS_ROUTES, encodeClasslessRoutes(routes)]);
  if (lease.nameservers.length > 0) config.push([OPTION.DNS_SERVERS, ipv4List(lease.nameservers.map(ip))]);
  if (lease.domain !== undefined)
    config.push([OPTION.DOMAIN_NAME, Buffer.from(lease.domain.replace(/\.$/, ""))]);
  if (lease.search.length > 0) config.push([OPTION.DOMAIN_SEARCH, encodeDomainSearch(lease.search)]);
  if (lease.hostname !== undefined) config.push([OPTION.HOSTNAME, Buffer.from(lease.hostname)]);
  if (lease.mtu !== undefined) config.push([OPTION.INTERFACE_MTU, u16(lease.mtu)]);
  const times: [number, Buffer][] = [[OPTION.LEASE_TIME, u32(lease.leaseTimeS)]];
  // An infinite lease (0xffffffff) has no renewal; finite ones renew at 1/2 and rebind at 7/8.
  if (lease.leaseTimeS !== 0xffffffff) {
    times.push([OPTION.RENEWAL_TIME, u32(Math.floor(lease.leaseTimeS / 2))]);
    times.push([OPTION.REBINDING_TIME, u32(Math.floor((lease.leaseTimeS * 7) / 8))]);
  }
  return {
    clientMac: macBytes(lease.clientMac),
    address,
    prefixLength: lease.prefixLength,
    serverId: ip(serverId),
    leaseTimeS: lease.leaseTimeS,
    config,
    times,
    classlessRoutes: needClassless
      ? routes
      : routers.map((router) => ({ destination: 0, prefixLength: 0, router })),
    routers,
  };
}
