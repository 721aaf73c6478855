// The external_ids keys vmnet writes on OVS rows (Port, Interface, Mirror, Bridge). Together with
// the kernel's ifalias marks they are the whole state: a second process reads the same rows.
import { OVS_OWNER_KEY } from "../plan/owner.js";

export const OWNER_KEY = OVS_OWNER_KEY;
/** What a port is for: see PortKind. */
export const KIND_KEY = "vmnet-kind";
/** The MAC the VM (or container) uses behind a tap, for IP snooping. */
export const MAC_KEY = "vmnet-mac";
/** "true" once destroyTap marked the tap for reaping. */
export const DEFUNCT_KEY = "vmnet-defunct";
/** The netns a container tap's inner end lives in. */
export const CONTAINER_KEY = "vmnet-container";
/** Addresses learned by snooping, comma separated. */
export const IPV4_KEY = "vmnet-ipv4";
export const IPV6_KEY = "vmnet-ipv6";
/** Set while an ingress OpenFlow meter limits the tap (value: the meter id). */
export const METER_KEY = "vmnet-ingress-meter";
/** The creating process, as the kernel mark's text (so OVS-only rows, e.g. tunnels, can be reaped). */
export const MARK_KEY = "vmnet-mark";

/** OVN mode: the logical switch port a tap is bound to (on its OVS Port and Interface rows). */
export const LSP_KEY = "vmnet-lsp";
/** OVN mode: the VLAN (logical switch) of a tap, since the OVS port carries no tag. */
export const VLAN_KEY = "vmnet-vlan";

export type PortKind = "tap" | "host-tap" | "container-tap" | "qinq" | "trunk" | "tunnel" | "capture";
