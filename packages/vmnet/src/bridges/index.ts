export { Bridge, type BridgeInfo } from "./bridge.js";
export {
  type BandwidthTotals,
  Bridges,
  type BridgesOptions,
  destroyBridge,
  destroyTap,
} from "./bridges.js";
export type { BridgeCapture, CaptureInfo, CaptureSpec } from "./capture.js";
export { checkOvs, type OvsCheck, SYSTEM_DB } from "./check-ovs.js";
export type { MirrorSpec } from "./mirror.js";
export type { Netflow } from "./netflow.js";
export type { NetflowRecord } from "./netflow-receiver.js";
export { INTEGRATION_BRIDGE, type OvnBridgesOptions } from "./ovn.js";
export type { QosSpec, QosState } from "./qos.js";
export type { ReapReport } from "./reap.js";
export { type Sighting, SNOOP_FILTER, Snooper, sightingsOf } from "./snoop.js";
export type { ContainerTapSpec, HostTapSpec, QinqTapSpec } from "./special-taps.js";
export { BandwidthSampler } from "./stats.js";
export type { Tap, TapBandwidth } from "./tap.js";
export { type PlanHooks, TapExistsError, type TapSpec } from "./taps.js";
export type { TrunkSpec } from "./trunk.js";
export type { TunnelSpec } from "./tunnel.js";
