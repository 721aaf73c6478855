// Questions Virtlet's nettools asks of a result: which IPs and routes belong to interface i,
// which interface holds an address, what the default gateway is. They accept a result of any
// version and answer on its 1.x form (a 0.1.0/0.2.0 result names no interface: run fixResult
// on it first).

import { toCurrent } from "./convert.js";
import { canonicalIp, cidrContains, type IpFamily, ipFamily, isDefaultRoute, sameIp } from "./ip.js";
import { isOnLinkRoute } from "./scope.js";
import type { CniResult, InterfaceV1, IpConfigV1, ResultV1, Route } from "./types.js";

/** The `ips` entries assigned to interface `index`. */
export function ipsForInterface(result: CniResult, index: number): IpConfigV1[] {
  return (toCurrent(result).ips ?? []).filter((ip) => ip.interface === index);
}

/**
 * The interface a route without a next hop (or with one outside every subnet) belongs to: the
 * first sandbox interface holding an IP of the route's family, else the first interface holding
 * one. The spec says result routes concern the sandbox interface (CNI_IFNAME), which is why
 * sandbox interfaces win over host-side ones.
 */
function routeOwner(current: ResultV1, family: IpFamily): number | undefined {
  const holders = (current.ips ?? []).filter(
    (ip): ip is IpConfigV1 & { interface: number } =>
      ip.interface !== undefined && ipFamily(ip.address) === family,
  );
  const inSandbox = holders.find((ip) => current.interfaces?.[ip.interface]?.sandbox);
  return (inSandbox ?? holders[0])?.interface;
}

/**
 * The routes that go out through interface `index`: a route whose next hop lies in one of the
 * interface's subnets, or a route whose next hop is absent or in no interface's subnet when
 * `index` is the interface that owns its family (see routeOwner).
 */
export function routesForInterface(result: CniResult, index: number): Route[] {
  const current = toCurrent(result);
  const ips = current.ips ?? [];
  return (current.routes ?? []).filter((route) => {
    const family = ipFamily(route.dst);
    if (family === undefined) return false;
    if (route.gw !== undefined) {
      const gw = route.gw;
      const via = ips.find((ip) => ip.interface !== undefined && cidrContains(ip.address, gw));
      if (via) return via.interface === index;
    }
    return routeOwner(current, family) === index;
  });
}

/** The interface an address (plain or CIDR) is assigned to, or undefined. */
export function interfaceForIp(
  result: CniResult,
  address: string,
): { index: number; interface: InterfaceV1 } | undefined {
  const current = toCurrent(result);
  if (canonicalIp(address) === undefined) return undefined;
  const ip = (current.ips ?? []).find((entry) => sameIp(entry.address, address));
  const index = ip?.interface;
  const iface = index === undefined ? undefined : current.interfaces?.[index];
  return index === undefined || !iface ? undefined : { index, interface: iface };
}

/**
 * The default gateway of a family: the next hop of a default route ("0.0.0.0/0", "::/0"), or,
 * when that route has none, the `gateway` of the first IP of the family (the spec lets a route
 * without `gw` use it). Undefined when the result has no default route of that family, or when
 * its default route is on-link (1.1.0 `scope: 253`, no `gw`): that one has no gateway.
 */
export function defaultGateway(result: CniResult, family: IpFamily = 4): string | undefined {
  const current = toCurrent(result);
  const route = (current.routes ?? []).find((r) => isDefaultRoute(r.dst) && ipFamily(r.dst) === family);
  if (!route || isOnLinkRoute(route)) return undefined;
  if (route.gw !== undefined) return route.gw;
  return (current.ips ?? []).find((ip) => ipFamily(ip.address) === family && ip.gateway !== undefined)
    ?.gateway;
}
