// What a caller can read from the kernel about one link, as plain data: the input of fixResult.
// Keeping it a snapshot (not a live handle) keeps the fix rules pure and testable without a
// kernel; @vmnet/vmnet fills it from rtnetlink, a test can fill it from `ip -j`.

export interface LinkRoute {
  /** Destination in CIDR notation; a default route is "0.0.0.0/0" or "::/0" (not "default"). */
  dst: string;
  /** Next hop. A route without one is on-link: its destination is reached directly on the link. */
  gw?: string;
  /**
   * Routing protocol as `ip -j route` prints it ("kernel", "boot", "static", ...) or its number.
   * Routes the kernel adds by itself for an address ("kernel", 2) are not copied into a result.
   */
  protocol?: string | number;
}

export interface LinkSnapshot {
  name: string;
  mac: string;
  mtu: number;
  /** Addresses in CIDR notation ("10.1.0.5/16"). */
  addresses: readonly string[];
  /** Routes that go out through this link. */
  routes: readonly LinkRoute[];
  /** Netns path the link lives in; absent for a link on the host. */
  sandbox?: string;
}

/** True for routes the kernel made for an address (proto kernel), which plugins never report. */
export function isKernelRoute(route: LinkRoute): boolean {
  return route.protocol === "kernel" || route.protocol === 2;
}
