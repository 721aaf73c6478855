// ContainerSideNetwork: Virtlet's nettools (VM in a pod), for IPv4 and IPv6, rolled back on
// failure, journalled for teardown and crash recovery.

export {
  DEFAULT_MASQUERADE_IPV4,
  DEFAULT_MASQUERADE_IPV6,
  type ForwardPort,
  type MasqueradeOptions,
} from "../masquerade/index.js";
export { dhcpBlockBatch, NFT_TABLE } from "./dhcp-guard.js";
export {
  configureLink,
  extractLinkInfo,
  type LinkAddress,
  type LinkInfo,
  type LinkRoute,
  stripLink,
} from "./link-info.js";
export {
  type BridgeOptions,
  createEscapeVethPair,
  findVeth,
  type OpenTapOptions,
  openTap,
  randomVethName,
  setupBridge,
  setupVeth,
  teardownBridge,
  type VethOptions,
} from "./links.js";
export { type RecoverOptions, recoverContainerSideNetwork } from "./recover.js";
export { randomMac, setupContainerSideNetwork } from "./setup.js";
export { TeardownError } from "./teardown.js";
export type {
  ContainerInterface,
  ContainerSideNetwork,
  CsnJournal,
  SetupOptions as ContainerSideNetworkOptions,
  WiringMode,
} from "./types.js";
