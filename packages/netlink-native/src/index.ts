export * from "./capture/index.js";
export { formatIPv6 } from "./codec/addresses.js";
export { NetlinkDecodeError } from "./codec/decode-error.js";
export {
  type ConnectionOptions,
  NetlinkClosedError,
  NetlinkConnection,
  type RequestOptions,
} from "./connection.js";
export {
  errnoName,
  NetlinkDumpInterruptedError,
  NetlinkError,
  NetlinkInputError,
  NetlinkNativeError,
  NetlinkTimeoutError,
  NetnsError,
  type RequestContext,
  SyscallError,
} from "./errors.js";
export { LoopDelayMonitor, type LoopDelaySummary } from "./loop-delay.js";
export { AddonLoadError, type NativeAddon, type NativeDatagramSocket, native } from "./native.js";
export { NetlinkSocket, sockaddrNl } from "./netlink-socket.js";
export {
  CURRENT_NETNS,
  createNetns,
  deleteNetns,
  listNetns,
  NETNS_RUN_DIR,
  type NetnsRef,
  netnsIdentity,
  netnsPath,
  sameNetns,
} from "./netns.js";
export {
  type ChainSpec,
  chainAdd,
  masquerade,
  matchAddress,
  matchCtState,
  matchDestinationPorts,
  matchEtherType,
  matchIcmpv6Type,
  matchInterfaceName,
  matchL4Proto,
  matchNfproto,
  Nft,
  type NftChain,
  type NftExpression,
  type NftFamily,
  type NftOptions,
  type NftRequest,
  type NftRule,
  type NftTable,
  natTo,
  type RuleSpec,
  ruleAdd,
  type TableSpec,
  tableAdd,
  tableDelete,
  verdict,
} from "./nft/index.js";
export {
  formatOwnerMark,
  isMarkOwnerAlive,
  isMarkToken,
  type OwnerMark,
  ownerMarkForThisProcess,
  parseOwnerMark,
  processStartTicks,
} from "./owner/index.js";
export type { Address } from "./packet/addr-message.js";
export { decodeAddress } from "./packet/addr-message.js";
export type {
  BridgeInfo,
  GeneveInfo,
  GretapInfo,
  LinkInfo,
  LinkKind,
  LinkKindName,
  MacvlanInfo,
  MacvlanMode,
  ResolveContext,
  ResolvedKind,
  VlanInfo,
  VlanProtocol,
  VxlanInfo,
} from "./packet/kinds/index.js";
export { LINK_KINDS } from "./packet/kinds/index.js";
export type { LinkIdentity } from "./packet/link-identity.js";
export type { Link, LinkAttrs, OperState } from "./packet/link-message.js";
export { decodeLink } from "./packet/link-message.js";
export type { Neighbour, NeighState } from "./packet/neigh-message.js";
export { decodeNeighbour } from "./packet/neigh-message.js";
export * as requests from "./packet/requests.js";
export type { NextHop, Route } from "./packet/route-message.js";
export { decodeRoute } from "./packet/route-message.js";
export type { LinkStats } from "./packet/stats.js";
export {
  type CompletedPlan,
  type PlanOptions,
  runPlan,
  type Step,
  StepError,
  step,
  UndoError,
  type UndoFailure,
  undoSteps,
} from "./plan/index.js";
export type { AddressOptions } from "./rtnl/addresses.js";
export type {
  EventKind,
  EventOptions,
  EventStats,
  EventSubscription,
  ResyncReason,
  RtnlEvent,
} from "./rtnl/events.js";
export type { LinkAddPlan } from "./rtnl/link-plan.js";
export type { LinkAddSpec, LinkChanges, MarkSpec } from "./rtnl/link-specs.js";
export type { LinkRef } from "./rtnl/links.js";
export type { NeighbourSpec } from "./rtnl/neighbours.js";
export type { OwnedLink, OwnedQuery } from "./rtnl/owned-links.js";
export type { RouteSpec } from "./rtnl/routes.js";
export { Rtnl, type RtnlOptions } from "./rtnl.js";
export { openTap, type Tap, type TapOptions } from "./tap.js";
export {
  altName as altNameSchema,
  describeZodError,
  ifName as interfaceNameSchema,
  linkRef as linkRefSchema,
  netnsRef as netnsRefSchema,
} from "./validate.js";
