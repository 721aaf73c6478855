// @vmnet/netlink-native/packet: the rtnetlink messages (links, addresses, routes, neighbours),
// their encoders, decoders and request builders, and the link-kind plugins. Pure: no I/O, no
// addon (like rust-netlink's netlink-packet-route). The handles that send them live in ../rtnl.

// Input schemas and the one zod-failure formatter, for other packages' validation (pure).
export {
  altName as altNameSchema,
  describeZodError,
  ifName as interfaceNameSchema,
  linkRef as linkRefSchema,
} from "../validate.js";
export {
  type Address,
  type AddrRequest,
  broadcastOf,
  decodeAddress,
  encodeAddrBody,
  encodeAddrDumpBody,
  IFADDRMSG_LEN,
  INFINITY_LIFETIME,
} from "./addr-message.js";
export {
  type BridgeInfo,
  defineKind,
  type GeneveInfo,
  type GretapInfo,
  LINK_KIND_REGISTRY,
  LINK_KINDS,
  type LinkInfo,
  type LinkKind,
  type LinkKindName,
  linkKind,
  type MacvlanInfo,
  type MacvlanMode,
  type ResolveContext,
  type ResolvedKind,
  type VlanInfo,
  type VlanProtocol,
  type VxlanInfo,
} from "./kinds/index.js";
export {
  IFINFOMSG_LEN,
  type IfInfoHeader,
  type LinkAttrs,
  writeIfInfo,
  writeLinkAttrs,
} from "./link-attrs.js";
export { decodeLinkIdentity, type LinkIdentity } from "./link-identity.js";
export {
  decodeLink,
  encodeLinkBody,
  type Link,
  type LinkRequest,
  type OperState,
  writeLinkInfo,
} from "./link-message.js";
export {
  decodeNeighbour,
  encodeNeighBody,
  encodeNeighDumpBody,
  NDMSG_LEN,
  type Neighbour,
  type NeighRequest,
  type NeighState,
  NUD_STATES,
} from "./neigh-message.js";
export type { Request, ResolvedLinkAdd, ResolvedLinkSet } from "./requests.js";
export * as requests from "./requests.js";
export {
  decodeRoute,
  encodeRouteBody,
  encodeRouteDumpBody,
  type NextHop,
  type Route,
  type RouteRequest,
  RTMSG_LEN,
} from "./route-message.js";
export { decodeLinkStats64, type LinkStats } from "./stats.js";
