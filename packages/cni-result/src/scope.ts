// Route scopes (rtm_scope), as CNI 1.1.0 writes them in a route's `scope`. An on-link route is
// one without a next hop whose destination sits directly on the link (ptp's /32 route to its
// gateway, Calico's route to 169.254.1.1). It must never be written as a plain `{ dst }`: the
// spec reads a route without `gw` as "via the IP's gateway".

import type { Route } from "./types.js";

/** RT_SCOPE_LINK: the destination is on the link itself. */
export const ROUTE_SCOPE_LINK = 253;

/** True for a result route that is on-link (scope link, no next hop): it has no gateway at all. */
export function isOnLinkRoute(route: Route): boolean {
  return route.gw === undefined && route.scope === ROUTE_SCOPE_LINK;
}
