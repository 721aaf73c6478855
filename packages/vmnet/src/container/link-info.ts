// What a CNI interface is (Virtlet's ExtractLinkInfo), and the two moves on it: strip its identity
// (addresses and the routes that are not the kernel's own) and put it back. IPv4 and IPv6 alike.
// A LinkInfo is plain JSON: it is what the journal keeps so teardown restores exactly this.
import type { Address, Link, NetnsRef, Route, RouteSpec, Rtnl } from "@vmnet/netlink-native";
import { withRtnl } from "./netns.js";

const AF_INET = 2;
const AF_INET6 = 10;
const RTPROT_KERNEL = 2;
const RT_TABLE_LOCAL = 255;
const IFA_F_SECONDARY = 0x01;
const IFA_F_NODAD = 0x02;
const IFA_F_NOPREFIXROUTE = 0x200;

/** One address of a link as the kernel reported it. */
export interface LinkAddress {
  family: 4 | 6;
  /** "10.1.0.5/24" */
  cidr: string;
  peer?: string;
  broadcast?: string;
  label?: string;
  /** rtnetlink scope number (0 universe, 253 link). */
  scope: number;
  /** IFA_F_* flags (secondary, nodad, permanent, noprefixroute, ...). */
  flags: number;
}

/** One route through a link, as the kernel reported it (never a kernel-made prefix route). */
export interface LinkRoute {
  family: 4 | 6;
  /** "10.1.0.0/16", or "0.0.0.0/0" / "::/0". */
  dst: string;
  gateway?: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  onlink: boolean;
  metric?: number;
  prefsrc?: string;
  src?: string;
  mtu?: number;
  advmss?: number;
}

/** A CNI interface as setup found it. */
export interface LinkInfo {
  name: string;
  index: number;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  txqlen?: number;
  addresses: LinkAddress[];
  routes: LinkRoute[];
}

const RTNH_F_ONLINK = 4;
const SCOPE_NAMES: Record<number, NonNullable<RouteSpec["scope"]>> = {
  0: "universe",
  200: "site",
  253: "link",
  254: "host",
  255: "nowhere",
};
const TYPE_NAMES: Record<number, NonNullable<RouteSpec["type"]>> = {
  1: "unicast",
  2: "local",
  3: "broadcast",
  4: "anycast",
  5: "multicast",
  6: "blackhole",
  7: "unreachable",
  8: "prohibit",
  9: "throw",
};

/** Addresses a plugin gave the link: every one but IPv6 link-local (the kernel makes those). */
export function isIdentityAddress(a: Address): boolean {
  return !(a.family === AF_INET6 && a.address.toLowerCase().startsWith("fe80:"));
}

/** Routes to move with the identity: through this link, not the kernel's own, not the local table. */
export function isIdentityRoute(r: Route, index: number): boolean {
  if (r.protocol === RTPROT_KERNEL || r.table === RT_TABLE_LOCAL) return false;
  if (r.family === AF_INET6 && r.dst.toLowerCase().startsWith("fe80:")) return false;
  if (r.family === AF_INET6 && r.type === 5) return false;
  return r.index === index || (r.multipath?.some((h) => h.index === index) ?? false);
}

export function toLinkAddress(a: Address): LinkAddress {
  return {
    family: a.family === AF_INET6 ? 6 : 4,
    cidr: a.cidr,
    ...(a.peer !== undefined && { peer: a.peer }),
    ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
    ...(a.label !== undefined && { label: a.label }),
    scope: a.scope,
    flags: a.flags,
  };
}

export function toLinkRoute(r: Route): LinkRoute {
  const family = r.family === AF_INET6 ? 6 : 4;
  return {
    family,
    dst: r.dst === "default" ? (family === 6 ? "::/0" : "0.0.0.0/0") : r.dst,
    ...(r.gateway !== undefined && { gateway: r.gateway }),
    table: r.table,
    protocol: r.protocol,
    scope: r.scope,
    type: r.type,
    onlink: (r.flags & RTNH_F_ONLINK) !== 0,
    ...(r.metric !== undefined && { metric: r.metric }),
    ...(r.prefsrc !== undefined && { prefsrc: r.prefsrc }),
    ...(r.src !== undefined && { src: r.src }),
    ...(r.mtu !== undefined && { mtu: r.mtu }),
    ...(r.advmss !== undefined && { advmss: r.advmss }),
  };
}

/** The link's state from one link, one address and one route dump (done together). */
export function linkInfoFrom(link: Link, addresses: Address[], routes: Route[]): LinkInfo {
  return {
    name: link.name,
    index: link.index,
    ...(link.kind !== undefined && { kind: link.kind }),
    mac: link.mac ?? "",
    mtu: link.mtu,
    up: link.up,
    ...(link.txqlen !== undefined && { txqlen: link.txqlen }),
    addresses: addresses.filter((a) => a.index === link.index && isIdentityAddress(a)).map(toLinkAddress),
    routes: routes.filter((r) => isIdentityRoute(r, link.index)).map(toLinkRoute),
  };
}

export async function readLinkInfo(rtnl: Rtnl, name: string | number): Promise<LinkInfo> {
  const [link, addresses, routes] = await Promise.all([
    rtnl.links.get(name),
    rtnl.addresses.list(),
    rtnl.routes.list({ table: 0 }),
  ]);
  return linkInfoFrom(link, addresses, routes);
}

/** Virtlet's ExtractLinkInfo for IPv4 and IPv6: the link's MAC, MTU, addresses and routes. */
export function extractLinkInfo(netns: NetnsRef, name: string): Promise<LinkInfo> {
  return withRtnl(netns, (rtnl) => readLinkInfo(rtnl, name));
}

function routeSpec(r: LinkRoute, index: number): RouteSpec {
  const spec: RouteSpec = {
    dst: r.dst,
    dev: index,
    table: r.table,
    protocol: r.protocol,
    ...(SCOPE_NAMES[r.scope] && { scope: SCOPE_NAMES[r.scope] }),
    ...(TYPE_NAMES[r.type] && { type: TYPE_NAMES[r.type] }),
    ...(r.gateway !== undefined && { gateway: r.gateway }),
    ...(r.onlink && { onlink: true }),
    ...(r.metric !== undefined && { metric: r.metric }),
    ...(r.prefsrc !== undefined && { prefsrc: r.prefsrc }),
    ...(r.src !== undefined && { src: r.src }),
    ...(r.mtu !== undefined && { mtu: r.mtu }),
    ...(r.advmss !== undefined && { advmss: r.advmss }),
  };
  return spec;
}

/**
 * Removes the link's identity: its routes first (so a failure leaves addresses to route by),
 * then its addresses, secondaries before primaries (deleting a primary takes its secondaries).
 * Idempotent: what is already gone is not an error.
 */
export async function stripLinkWith(rtnl: Rtnl, info: LinkInfo): Promise<void> {
  // One round trip: routes, then secondary addresses, then primaries, all sent at once. Whatever
  // order the kernel meets them in, the end is the same: a route or secondary address already
  // removed with the address it hung on is "not present", which these deletes accept.
  const secondaries = info.addresses.filter((a) => a.flags & IFA_F_SECONDARY);
  const primaries = info.addresses.filter((a) => !(a.flags & IFA_F_SECONDARY));
  await Promise.all([
    ...info.routes.map((r) => rtnl.routes.deleteIfPresent(routeSpec(r, info.index))),
    ...secondaries.map((a) => rtnl.addresses.deleteIfPresent(info.index, a.cidr)),
    ...primaries.map((a) => rtnl.addresses.deleteIfPresent(info.index, a.cidr)),
  ]);
}

/**
 * Puts the identity back (Virtlet's ConfigureLink): addresses, then routes, each group
 * pipelined. Idempotent (replace semantics), so a teardown that ran half-way can run again.
 */
export async function configureLinkWith(rtnl: Rtnl, info: LinkInfo, index = info.index): Promise<void> {
  const primaries = info.addresses.filter((a) => !(a.flags & IFA_F_SECONDARY));
  const secondaries = info.addresses.filter((a) => a.flags & IFA_F_SECONDARY);
  const add = (a: LinkAddress) =>
    rtnl.addresses.replace(index, a.cidr, {
      ...(a.peer !== undefined && { peer: a.peer }),
      ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
      ...(a.label !== undefined && { label: a.label }),
      ...(SCOPE_NAMES[a.scope] && { scope: SCOPE_NAMES[a.scope] }),
      ...((a.flags & IFA_F_NODAD) !== 0 && { nodad: true }),
      ...((a.flags & IFA_F_NOPREFIXROUTE) !== 0 && { noprefixroute: true }),
    });
  await Promise.all(primaries.map(add));
  await Promise.all(secondaries.map(add));
  // Routes through a gateway need the route to the gateway first: on-link/prefix-less routes,
  // then the rest.
  const direct = info.routes.filter((r) => r.gateway === undefined);
  const viaGateway = info.routes.filter((r) => r.gateway !== undefined);
  await Promise.all(direct.map((r) => rtnl.routes.replace(routeSpec(r, index))));
  await Promise.all(viaGateway.map((r) => rtnl.routes.replace(routeSpec(r, index))));
}

/** Removes the link's addresses and non-kernel routes (IPv4 and IPv6). */
export function stripLink(netns: NetnsRef, info: LinkInfo): Promise<void> {
  return withRtnl(netns, (rtnl) => stripLinkWith(rtnl, info));
}

/** Gives a link the addresses and routes of `info` (by default the link `info` describes). */
export function configureLink(netns: NetnsRef, info: LinkInfo, link?: string | number): Promise<void> {
  return withRtnl(netns, async (rtnl) =>
    configureLinkWith(rtnl, info, link === undefined ? info.index : await rtnl.links.index(link)),
  );
}

export { AF_INET, AF_INET6 };
