// Which of a link's routes a result takes when fixResult fills in missing routes. One rule for
// every case (one IP, two IPs, dual stack, any plugin):
//
// - A route with a next hop is copied as `{ dst, gw }`.
// - A route the kernel made for an address (proto kernel: the prefix route of each address,
//   IPv6's fe80::/64) is left out. Whoever assigns the address gets it again from the kernel,
//   and written into a result without `gw` it would read as "via the IP's gateway".
// - Any other route without a next hop is on-link (ptp's /32 route to its gateway). In a 1.1.0
//   result it is written with `scope: 253` (link); 1.0.0 has no `scope`, so there it is left out.
//   It is never written as a plain `{ dst }`.
//
// So a dual-stack ptp interface with no routes in its result gets two routes in 1.0.0 (each
// subnet via its gateway) and four in 1.1.0 (those two, plus the on-link route to each gateway);
// a bridge or macvlan interface, whose only routes are the kernel's prefix routes, gets none.

import { ipFamily } from "./ip.js";
import { isKernelRoute, type LinkRoute } from "./link.js";
import { ROUTE_SCOPE_LINK } from "./scope.js";
import type { Route } from "./types.js";
import type { V1Version } from "./versions.js";

/** The result route a link route becomes in a result of `version`, or undefined to leave it out. */
export function resultRouteFor(route: LinkRoute, version: V1Version): Route | undefined {
  if (isKernelRoute(route)) return undefined;
  if (route.gw !== undefined) return { dst: route.dst, gw: route.gw };
  return version === "1.1.0" ? { dst: route.dst, scope: ROUTE_SCOPE_LINK } : undefined;
}

/** The routes of one link a result takes for an IP of `family`, without those already taken. */
export function routesToCopy(
  routes: readonly LinkRoute[],
  family: 4 | 6,
  version: V1Version,
  taken: readonly Route[],
): Route[] {
  const copied: Route[] = [];
  for (const route of routes) {
    if (ipFamily(route.dst) !== family) continue;
    const entry = resultRouteFor(route, version);
    if (!entry) continue;
    const same = (r: Route) => r.dst === entry.dst && r.gw === entry.gw && r.scope === entry.scope;
    if (taken.some(same) || copied.some(same)) continue;
    copied.push(entry);
  }
  return copied;
}
