// Reads a link from the kernel with `ip -j` into a LinkSnapshot (the input of fixResult).

import type { TestNetns } from "@vmnet/harness";
import type { LinkRoute, LinkSnapshot } from "../../src/index.js";

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
}

interface IpRoute {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
}

/** `ip -j route` prints "default" and host routes without a prefix; a snapshot wants CIDRs. */
function routeDst(dst: string, family: 4 | 6): string {
  if (dst === "default") return family === 4 ? "0.0.0.0/0" : "::/0";
  return dst.includes("/") ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

export async function linkSnapshot(netns: TestNetns, ifname: string): Promise<LinkSnapshot> {
  const [link] = await netns.ipJson(["addr", "show", "dev", ifname]);
  const routes: LinkRoute[] = [];
  for (const family of [4, 6] as const) {
    const list = (await netns.ipJson([`-${family}`, "route", "show", "dev", ifname])) as IpRoute[];
    for (const route of list) {
      const entry: LinkRoute = { dst: routeDst(route.dst, family) };
      if (route.gateway) entry.gw = route.gateway;
      if (route.protocol) entry.protocol = route.protocol;
      routes.push(entry);
    }
  }
  return {
    name: link.ifname,
    mac: link.address,
    mtu: link.mtu,
    addresses: (link.addr_info as IpAddrInfo[]).map((a) => `${a.local}/${a.prefixlen}`),
    routes,
    sandbox: netns.path,
  };
}

/** The global (plugin-assigned) addresses of a link, as CIDRs. */
export async function globalAddresses(netns: TestNetns, ifname: string): Promise<string[]> {
  const [link] = await netns.ipJson(["addr", "show", "dev", ifname]);
  return (link.addr_info as IpAddrInfo[])
    .filter((a) => a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`);
}

/** The next hop of the netns's default route of a family, if any. */
export async function kernelDefaultGateway(netns: TestNetns, family: 4 | 6): Promise<string | undefined> {
  const routes = (await netns.ipJson([`-${family}`, "route", "show", "default"])) as IpRoute[];
  return routes[0]?.gateway;
}

/** Every route out of a link (both families) as `ip -j route` prints it, dst made a CIDR. */
export async function kernelRoutes(netns: TestNetns, ifname: string): Promise<IpRoute[]> {
  const routes: IpRoute[] = [];
  for (const family of [4, 6] as const) {
    const list = (await netns.ipJson([`-${family}`, "route", "show", "dev", ifname])) as IpRoute[];
    for (const route of list) routes.push({ ...route, dst: routeDst(route.dst, family) });
  }
  return routes;
}
