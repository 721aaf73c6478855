// The forwarding sysctls masquerade mode needs, and their exact restore. IPv4 forwarding is
// decided by the input device's own `forwarding`, so only the CNI interfaces (and our bridge) get
// it. IPv6 forwarding is decided by `all.forwarding`, which the kernel copies to `default` and to
// every device when written; so setup records all of those and teardown writes `all` back first,
// then `default` and each device's own value. A CNI interface with accept_ra=1 would stop
// accepting router advertisements once forwarding is on; it gets accept_ra=2 meanwhile.

const v4 = (link: string) => `net/ipv4/conf/${link}/forwarding`;
const v6 = (link: string, key: string) => `net/ipv6/conf/${link}/${key}`;

/** Keys setup reads (and journals) before it changes anything. */
export function forwardingKeys(
  allLinks: readonly string[],
  cniLinks: readonly string[],
  ipv6: boolean,
): string[] {
  const keys = cniLinks.map(v4);
  if (ipv6) {
    keys.push(v6("all", "forwarding"), v6("default", "forwarding"));
    for (const l of allLinks) keys.push(v6(l, "forwarding"));
    for (const l of cniLinks) keys.push(v6(l, "accept_ra"));
  }
  return keys;
}

/** What setup writes, in order. */
export function forwardingOn(
  cniLinks: readonly string[],
  bridge: string,
  ipv6: boolean,
  found: Record<string, string>,
): [string, string][] {
  const out: [string, string][] = [...cniLinks, bridge].map((l): [string, string] => [v4(l), "1"]);
  if (ipv6) {
    for (const l of cniLinks) if (found[v6(l, "accept_ra")] === "1") out.push([v6(l, "accept_ra"), "2"]);
    out.push([v6("all", "forwarding"), "1"]);
  }
  return out;
}

/** What teardown writes to put back exactly what setup found, in order. Keys of links gone are skipped. */
export function forwardingRestore(
  found: Record<string, string>,
  present: ReadonlySet<string>,
): [string, string][] {
  const linkOf = (k: string) => k.split("/")[3] as string;
  const keep = (k: string) => ["all", "default"].includes(linkOf(k)) || present.has(linkOf(k));
  const entries = Object.entries(found).filter(([k]) => keep(k));
  const rank = (k: string) =>
    k === v6("all", "forwarding")
      ? 0
      : k === v6("default", "forwarding")
        ? 1
        : k.startsWith("net/ipv6/")
          ? 2
          : 3;
  return entries.sort((a, b) => rank(a[0]) - rank(b[0]));
}
