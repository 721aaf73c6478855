// Masquerade mode (KubeVirt's default binding): the private network, its nftables table, and the
// sysctls it needs, for ContainerSideNetwork's `mode: "masquerade"`.
export {
  DEFAULT_MASQUERADE_IPV4,
  DEFAULT_MASQUERADE_IPV6,
  type ForwardPort,
  type MasqueradeOptions,
  type MasqueradePlan,
  masqueradeOptionsSchema,
  masqueradePlan,
  type PrivateSubnet,
  privateSubnet,
} from "./config.js";
export { forwardingKeys, forwardingOn, forwardingRestore } from "./forwarding.js";
export { MASQUERADE_TABLE, masqueradeBatch, type NatTableInput } from "./nat-rules.js";
export { readSysctls, writeSysctls } from "./sysctl.js";
