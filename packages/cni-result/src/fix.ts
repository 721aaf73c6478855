// Completing a result from what the kernel shows, as Virtlet's nettools does before it hands
// the pod's network to a VM. Some plugins report too little: 0.2.0 plugins name no interface,
// others (Weave, historically) report an IP and no routes; and an `interface` index can point at
// an entry that is missing or names another link. The rules, applied in this order:
//
// 1. The result is converted to 1.x (0.x results become options.cniVersion, default 1.0.0).
// 2. No IP at all: every link (but "lo") with addresses is described instead: one interface per
//    link, one `ips` entry per address (IPv6 link-local ones excepted: the kernel makes those,
//    no plugin reports them), the link's default route's next hop as gateway.
// 3. Every IP's interface index is recomputed from the links, whatever it was: it becomes the
//    index of the entry naming the link that holds the address (the entry with the link's
//    sandbox when several share the name); the link is appended to `interfaces` when no entry
//    names it. No link holding the address is an error: the caller passes every link it read.
// 4. No routes: for each IP, the routes of its link of the IP's family are taken by the rule in
//    fix-routes.ts (next hop: copied; the kernel's own: left out; on-link: scope link in 1.1.0,
//    left out in 1.0.0), and an IP without gateway takes the next hop of its link's default route.
// 5. An interface without `mac` (and, in 1.1.0, without `mtu`) takes them from its link.
//
// The functions are pure: the input result is not changed and no kernel is read.

import { toCurrent } from "./convert.js";
import { CniResultError } from "./errors.js";
import { routesToCopy } from "./fix-routes.js";
import {
  canonicalIp,
  cidrContains,
  explainCidr,
  explainIp,
  explainMac,
  type IpFamily,
  ipFamily,
  isDefaultRoute,
  sameIp,
} from "./ip.js";
import type { LinkSnapshot } from "./link.js";
import type { CniResult, InterfaceV1, IpConfigV1, ResultV1, Route } from "./types.js";
import type { V1Version } from "./versions.js";

export interface FixOptions {
  /** The 1.x version a 0.x result is converted to first (default "1.0.0"). */
  cniVersion?: V1Version;
}

function checkLinks(links: readonly LinkSnapshot[]): void {
  const fail = (path: string, problem: string | undefined) => {
    if (problem) throw new CniResultError(path, problem);
  };
  for (const [i, link] of links.entries()) {
    fail(`links[${i}].mac`, explainMac(link.mac));
    for (const [j, address] of link.addresses.entries())
      fail(`links[${i}].addresses[${j}]`, explainCidr(address));
    for (const [j, route] of link.routes.entries()) {
      fail(`links[${i}].routes[${j}].dst`, explainCidr(route.dst));
      if (route.gw !== undefined) fail(`links[${i}].routes[${j}].gw`, explainIp(route.gw));
    }
  }
}

/** The next hop of a link's default route of one family. */
function linkGateway(link: LinkSnapshot, family: IpFamily): string | undefined {
  return link.routes.find((r) => isDefaultRoute(r.dst) && ipFamily(r.dst) === family && r.gw !== undefined)
    ?.gw;
}

/** The addresses a plugin could have assigned: all but IPv6 link-local ones. */
function reportable(link: LinkSnapshot): string[] {
  return link.addresses.filter((address) => !cidrContains("fe80::/10", address));
}

function interfaceOf(link: LinkSnapshot): InterfaceV1 {
  const iface: InterfaceV1 = { name: link.name, mac: link.mac };
  if (link.sandbox) iface.sandbox = link.sandbox;
  return iface;
}

/**
 * The entry of `interfaces` that stands for `link`: the one with its name, and when several
 * have that name (a host-side and a sandbox-side "eth0"), the one with its sandbox.
 */
function entryFor(interfaces: readonly InterfaceV1[], link: LinkSnapshot): number {
  const named = [...interfaces.entries()].filter(([, iface]) => iface.name === link.name);
  const sameSide = named.find(([, iface]) => iface.sandbox === link.sandbox);
  return (sameSide ?? named[0])?.[0] ?? -1;
}

function describeIndex(interfaces: readonly InterfaceV1[], index: number | undefined): string {
  if (index === undefined) return "missing";
  const iface = interfaces[index];
  return iface ? `points at ${JSON.stringify(iface.name)} (${index})` : `points at no interface (${index})`;
}

/** Completes a result from a snapshot of the links it concerns (see the rules above). */
export function fixResult(
  result: CniResult,
  links: readonly LinkSnapshot[],
  options: FixOptions = {},
): ResultV1 {
  checkLinks(links);
  const out = structuredClone(toCurrent(result, options.cniVersion ?? "1.0.0"));
  const usable = links.filter((link) => link.name !== "lo");
  const interfaces: InterfaceV1[] = out.interfaces ?? [];
  const linkOf = new Map<number, LinkSnapshot>();

  const indexOf = (link: LinkSnapshot): number => {
    let index = entryFor(interfaces, link);
    if (index < 0) index = interfaces.push(interfaceOf(link)) - 1;
    linkOf.set(index, link);
    return index;
  };

  let ips: IpConfigV1[] = out.ips ?? [];
  if (ips.length === 0) {
    const holders = usable.filter((link) => reportable(link).length > 0);
    if (holders.length === 0) {
      throw new CniResultError("ips", "the result has no IP address and no link has one to take");
    }
    ips = holders.flatMap((link) =>
      reportable(link).map((address) => {
        const ip: IpConfigV1 = { address, interface: indexOf(link) };
        const gateway = linkGateway(link, ipFamily(address) ?? 4);
        if (gateway !== undefined) ip.gateway = gateway;
        return ip;
      }),
    );
  } else {
    for (const [i, ip] of ips.entries()) {
      const link = usable.find((candidate) =>
        candidate.addresses.some((address) => sameIp(address, ip.address)),
      );
      if (!link) {
        throw new CniResultError(
          `ips[${i}].interface`,
          `${describeIndex(interfaces, ip.interface)}, and no link has the address ${canonicalIp(ip.address)}`,
        );
      }
      ip.interface = indexOf(link);
    }
  }

  if (!out.routes || out.routes.length === 0) {
    const routes: Route[] = [];
    for (const ip of ips) {
      const link = ip.interface === undefined ? undefined : linkOf.get(ip.interface);
      const family = ipFamily(ip.address);
      if (!link || family === undefined) continue;
      routes.push(...routesToCopy(link.routes, family, out.cniVersion, routes));
      if (ip.gateway === undefined) {
        const gateway = linkGateway(link, family);
        if (gateway !== undefined) ip.gateway = gateway;
      }
    }
    if (routes.length > 0) out.routes = routes;
  }

  for (const link of usable) {
    const iface = interfaces[entryFor(interfaces, link)];
    if (!iface) continue;
    if (iface.mac === undefined) iface.mac = link.mac;
    if (out.cniVersion === "1.1.0" && iface.mtu === undefined) iface.mtu = link.mtu;
  }

  if (interfaces.length > 0) out.interfaces = interfaces;
  out.ips = ips;
  return out;
}
