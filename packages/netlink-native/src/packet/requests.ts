// Pure builders: a validated, resolved operation -> { type, flags, body }. The handle sends them;
// tests compare them byte for byte with iproute2's requests.
import * as C from "../codec/constants.js";
import { AttrWriter } from "../codec/writer.js";
import { type AddrRequest, encodeAddrBody } from "./addr-message.js";
import { linkKind } from "./kinds/index.js";
import { type IfInfoHeader, type LinkAttrs, writeIfInfo } from "./link-attrs.js";
import { encodeLinkBody } from "./link-message.js";
import { encodeNeighBody, type NeighRequest } from "./neigh-message.js";
import { encodeRouteBody, type RouteRequest } from "./route-message.js";

export interface Request {
  type: number;
  flags: number;
  body: Buffer;
}

const CREATE = C.NLM_F_CREATE | C.NLM_F_EXCL;
const REPLACE = C.NLM_F_CREATE | C.NLM_F_REPLACE;

export interface ResolvedLinkAdd {
  kind: string;
  attrs: LinkAttrs;
  up?: boolean;
  /** The kind's data with names resolved (what its plugin's resolve() returned; see kinds/*). */
  data?: unknown;
}

/** RTM_NEWLINK create: generic attributes, then IFLA_LINKINFO written by the kind's plugin. */
export function linkAdd(r: ResolvedLinkAdd): Request {
  const encode = linkKind(r.kind)?.encode;
  const header: IfInfoHeader = r.up ? { flags: C.IFF_UP, change: C.IFF_UP } : {};
  const kindData = r.data;
  const data = encode && kindData !== undefined ? (w: AttrWriter) => encode(w, kindData as never) : undefined;
  const info = data ? { kind: r.kind, data } : { kind: r.kind };
  return { type: C.RTM_NEWLINK, flags: CREATE, body: encodeLinkBody({ header, attrs: r.attrs, info }) };
}

export interface ResolvedLinkSet {
  index: number;
  attrs: LinkAttrs;
  up?: boolean;
  promisc?: boolean;
}

export function linkSet(r: ResolvedLinkSet): Request {
  let flags = 0;
  let change = 0;
  if (r.up !== undefined) {
    change |= C.IFF_UP;
    if (r.up) flags |= C.IFF_UP;
  }
  if (r.promisc !== undefined) {
    change |= C.IFF_PROMISC;
    if (r.promisc) flags |= C.IFF_PROMISC;
  }
  return {
    type: C.RTM_NEWLINK,
    flags: 0,
    body: encodeLinkBody({ header: { index: r.index, flags, change }, attrs: r.attrs }),
  };
}

/** Adds or removes an alternative name (RTM_NEWLINKPROP / RTM_DELLINKPROP, as `ip link property`). */
export function linkAltName(index: number, name: string, add: boolean): Request {
  const w = new AttrWriter();
  writeIfInfo(w, { index });
  w.nested(C.IFLA_PROP_LIST, () => w.string(C.IFLA_ALT_IFNAME, name), true);
  return {
    type: add ? C.RTM_NEWLINKPROP : C.RTM_DELLINKPROP,
    flags: add ? C.NLM_F_CREATE | C.NLM_F_EXCL | C.NLM_F_APPEND : 0,
    body: w.finish(),
  };
}

export function linkDelete(index: number): Request {
  return { type: C.RTM_DELLINK, flags: 0, body: encodeLinkBody({ header: { index }, attrs: {} }) };
}

export function linkDeleteGroup(group: number): Request {
  return { type: C.RTM_DELLINK, flags: 0, body: encodeLinkBody({ header: {}, attrs: { group } }) };
}

/** GETLINK for one link, by index or by name (or altname). */
export function linkGet(ref: number | string): Request {
  const w = new AttrWriter();
  writeIfInfo(w, typeof ref === "number" ? { index: ref } : {});
  // IFLA_IFNAME finds names and alternative names up to 15 bytes; longer alternative names
  // must be asked for as IFLA_ALT_IFNAME (the kernel's policy caps IFLA_IFNAME).
  if (typeof ref === "string") w.string(Buffer.byteLength(ref) > 15 ? C.IFLA_ALT_IFNAME : C.IFLA_IFNAME, ref);
  w.u32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_VF | C.RTEXT_FILTER_SKIP_STATS);
  return { type: C.RTM_GETLINK, flags: 0, body: w.finish() };
}

export function linkDump(withStats: boolean): Request {
  const w = new AttrWriter();
  writeIfInfo(w, {});
  w.u32(C.IFLA_EXT_MASK, withStats ? C.RTEXT_FILTER_VF : C.RTEXT_FILTER_VF | C.RTEXT_FILTER_SKIP_STATS);
  return { type: C.RTM_GETLINK, flags: C.NLM_F_DUMP, body: w.finish() };
}

export function addrAdd(r: AddrRequest, replace = false): Request {
  return { type: C.RTM_NEWADDR, flags: replace ? REPLACE : CREATE, body: encodeAddrBody(r) };
}

export function addrDelete(r: AddrRequest): Request {
  return { type: C.RTM_DELADDR, flags: 0, body: encodeAddrBody(r) };
}

/** The table iproute2 puts a route of this type in when none is given. */
export function defaultRouteTable(type: number): number {
  return type === C.RTN_LOCAL || type === C.RTN_BROADCAST || type === C.RTN_ANYCAST || type === C.RTN_NAT
    ? C.RT_TABLE_LOCAL
    : C.RT_TABLE_MAIN;
}

/**
 * The scope iproute2 gives a new route of this type when none is given: host for local (and
 * nat), link for broadcast/multicast/anycast, link for a unicast route with neither gateway nor
 * nexthops, and global (universe) for everything else: blackhole, unreachable, prohibit, throw
 * and unicast routes through a gateway.
 */
export function defaultRouteScope(r: Pick<RouteRequest, "type" | "gateway" | "multipath">): number {
  switch (r.type ?? C.RTN_UNICAST) {
    case C.RTN_LOCAL:
    case C.RTN_NAT:
      return C.RT_SCOPE_HOST;
    case C.RTN_BROADCAST:
    case C.RTN_MULTICAST:
    case C.RTN_ANYCAST:
      return C.RT_SCOPE_LINK;
    case C.RTN_UNICAST:
    case C.RTN_UNSPEC:
      return r.gateway === undefined && r.multipath === undefined ? C.RT_SCOPE_LINK : C.RT_SCOPE_UNIVERSE;
    default:
      return C.RT_SCOPE_UNIVERSE;
  }
}

export function routeAdd(r: RouteRequest, replace = false): Request {
  const type = r.type ?? C.RTN_UNICAST;
  return {
    type: C.RTM_NEWROUTE,
    flags: replace ? REPLACE : CREATE,
    body: encodeRouteBody({
      ...r,
      table: r.table ?? defaultRouteTable(type),
      protocol: r.protocol ?? C.RTPROT_BOOT,
      type,
      scope: r.scope ?? defaultRouteScope(r),
    }),
  };
}

export function routeDelete(r: RouteRequest): Request {
  return {
    type: C.RTM_DELROUTE,
    flags: 0,
    body: encodeRouteBody({ ...r, table: r.table ?? C.RT_TABLE_MAIN, scope: r.scope ?? C.RT_SCOPE_NOWHERE }),
  };
}

export function neighAdd(r: NeighRequest, replace = false): Request {
  return { type: C.RTM_NEWNEIGH, flags: replace ? REPLACE : CREATE, body: encodeNeighBody(r) };
}

export function neighDelete(r: NeighRequest): Request {
  return { type: C.RTM_DELNEIGH, flags: 0, body: encodeNeighBody(r) };
}
