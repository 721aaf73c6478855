// @vmnet/tc-qos: Linux traffic control over netlink. Never spawns tc.

export { StepError } from "@vmnet/netlink-native/plan";
export type { ActionInfo, ActionSpec, ResolvedAction } from "./actions/action.js";
export type { ActionControl, MirredAction, MirredInfo } from "./actions/mirred.js";
export type { PoliceAction, PoliceInfo } from "./actions/police.js";
export type { SampleAction, SampleInfo } from "./actions/sample.js";
export type { VlanAction, VlanInfo } from "./actions/vlan.js";
export * as constants from "./constants.js";
export { TcError, TcInputError } from "./errors.js";
export type { MatchallFilter, MatchallInfo } from "./filters/matchall.js";
export {
  type FieldMatch,
  formatU32Handle,
  parseU32Handle,
  type U32Filter,
  type U32Info,
  type U32Key,
  type U32Match,
} from "./filters/u32.js";
export { formatHandle, type Handle, parseHandle } from "./handle.js";
export type { FifoInfo } from "./kinds/fifo.js";
export type { FqCodelInfo, FqCodelOptions } from "./kinds/fq-codel.js";
export type { HtbClassInfo, HtbClassOptions, HtbInfo, HtbOptions } from "./kinds/htb.js";
export { type KnownQdiscKind, qdiscKinds } from "./kinds/index.js";
export type { CodecContext, QdiscKind } from "./kinds/kind.js";
export type { NetemInfo, NetemLossInfo, NetemOptions } from "./kinds/netem.js";
export type { SfqInfo, SfqOptions } from "./kinds/sfq.js";
export type { TbfInfo, TbfOptions } from "./kinds/tbf.js";
export type { TcMsg, TcRequest, TcStats } from "./messages.js";
export { type Distribution, parseDistribution } from "./netem-dist.js";
export { DEFAULT_PSCHED, type Psched, pschedFromText, systemPsched } from "./psched.js";
export { applyQos, type QosOptions, removeQos } from "./qos/apply.js";
export { QOS_INGRESS_PRIO, REDIRECT_PRIO } from "./qos/common.js";
export { getQos } from "./qos/get.js";
export { DEFAULT_OWNER, QOS_IFB_ROLE } from "./qos/ifb.js";
export { applyQosMany, type QosChange } from "./qos/many.js";
export { planQos, planRemoveQos, type QosPlanOptions } from "./qos/plan.js";
export { type ReapOptions, type ReapReport, reapQosLeftovers } from "./qos/reap.js";
export {
  planRedirect,
  planRemoveRedirect,
  type RedirectOptions,
  redirect,
  removeRedirect,
} from "./qos/redirect.js";
export { DEFAULT_LATENCY, defaultBurst, type QosSpec, type QosState } from "./qos/schema.js";
export type { FilterSelector, Protocol, QdiscPlace, QdiscSelector } from "./requests.js";
export * as requests from "./requests.js";
export {
  type ClassSpec,
  decodeClass,
  decodeFilter,
  decodeQdisc,
  type Filter,
  type FilterSpec,
  type Qdisc,
  type QdiscSpec,
  Tc,
  type TcClass,
  type TcOptions,
} from "./tc.js";
export {
  type Duration,
  formatRate,
  formatSize,
  formatTime,
  type Percent,
  parsePercent,
  parseRate,
  parseSize,
  parseTime,
  type Rate,
  type Size,
  type Time,
} from "./units.js";
