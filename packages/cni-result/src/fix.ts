// Completing a result from what the kernel shows, as Virtlet's nettools does before it hands
// the pod's network to a VM. Some plugins report too little: 0.2.0 plugins name no interface,
// others (Weave, historically) report an IP and no routes. The rules, applied in this order:
//
// 1. The result is converted to 1.x (0.x results become options.cniVersion, default 1.0.0).
// 2. No IP at all: every link (but "lo") with addresses is described instead: one interface per
//    link, one `ips` entry per address (IPv6 link-local ones excepted: the kernel makes those,
//    no plugin reports them), the link's default route's next hop as gateway.
// 3. An IP without an interface index gets the index of the link holding that address; that
//    link is appended to `interfaces` when it is not there yet. No such link is an error.
// 4. No routes: the routes of each link that holds a result IP are copied (dst and gw, same
//    family, not the kernel's own prefix routes), and an IP without gateway takes the next hop
//    of its link's default route.
// 5. An interface without `mac` (and, in 1.1.0, without `mtu`) takes them from its link.
//
// The functions are pure: the input result is not changed and no kernel is read.

import { toCurrent } from "./convert.js";
import { CniResultError } from "./errors.js";
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
import { isKernelRoute, type LinkSnapshot } from "./link.js";
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
  const linkByName = (name: string | undefined) => usable.find((link) => link.name === name);

  const indexOf = (link: LinkSnapshot): number => {
    const found = interfaces.findIndex((iface) => iface.name === link.name);
    if (found >= 0) return found;
    interfaces.push(interfaceOf(link));
    return interfaces.length - 1;
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
      if (ip.interface !== undefined) continue;
      const link = usable.find((candidate) =>
        candidate.addresses.some((address) => sameIp(address, ip.address)),
      );
      if (!link) {
        throw new CniResultError(
          `ips[${i}].interface`,
          `missing, and no link has the address ${canonicalIp(ip.address)}`,
        );
      }
      ip.interface = indexOf(link);
    }
  }

  if (!out.routes || out.routes.length === 0) {
    const routes: Route[] = [];
    for (const ip of ips) {
      const link = linkByName(ip.interface === undefined ? undefined : interfaces[ip.interface]?.name);
      const family = ipFamily(ip.address);
      if (!link || family === undefined) continue;
      for (const route of link.routes) {
        if (isKernelRoute(route) || ipFamily(route.dst) !== family) continue;
        if (routes.some((r) => r.dst === route.dst && r.gw === route.gw)) continue;
        routes.push(route.gw === undefined ? { dst: route.dst } : { dst: route.dst, gw: route.gw });
      }
      if (ip.gateway === undefined) {
        const gateway = linkGateway(link, family);
        if (gateway !== undefined) ip.gateway = gateway;
      }
    }
    if (routes.length > 0) out.routes = routes;
  }

  for (const iface of interfaces) {
    const link = linkByName(iface.name);
    if (!link) continue;
    if (iface.mac === undefined) iface.mac = link.mac;
    if (out.cniVersion === "1.1.0" && iface.mtu === undefined) iface.mtu = link.mtu;
  }

  if (interfaces.length > 0) out.interfaces = interfaces;
  out.ips = ips;
  return out;
}
