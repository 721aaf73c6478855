// Tap: a read-only view built from one OVSDB port row and one kernel link. It is made fresh on
// each read (never a map that could drift from the switch or the kernel).
import type { Link, LinkStats } from "@vmnet/netlink-native";
import type { PortInfo } from "@vmnet/ovs";
import {
  CONTAINER_KEY,
  DEFUNCT_KEY,
  IPV4_KEY,
  IPV6_KEY,
  KIND_KEY,
  LSP_KEY,
  MAC_KEY,
  type PortKind,
  VLAN_KEY,
} from "./keys.js";

export interface TapBandwidth {
  /** Megabytes per second the tap received (what the VM sent), averaged over the samples. */
  rxMBps: number;
  /** Megabytes per second the tap transmitted (toward the VM). */
  txMBps: number;
  /** How many samples the average covers (up to 10, 5 s apart by default). */
  samples: number;
}

export interface Tap {
  name: string;
  bridge: string;
  kind: PortKind;
  /** Access VLAN; undefined for a trunk. */
  vlan: number | undefined;
  /** The MAC of the VM or container behind the tap (what snooping matches on). */
  mac: string | undefined;
  /** The tap device's own MAC. */
  deviceMac: string | undefined;
  /** A host tap (internal port the host uses). */
  host: boolean;
  /** The netns holding the inner end of a container tap. */
  container: string | undefined;
  /** Marked by destroyTap, removed by reapTaps. */
  defunct: boolean;
  /** Whether the kernel link exists and is up. */
  up: boolean;
  present: boolean;
  ipv4: string[];
  ipv6: string[];
  /** Kernel counters at the time of the read. */
  counters: LinkStats | undefined;
  /** Averaged rates when a bandwidth sampler runs (Bridges.startBandwidth). */
  bandwidth: TapBandwidth | undefined;
  /** In OVN mode: the logical switch port the tap is bound to. */
  logicalPort: string | undefined;
}

const list = (s: string | undefined) => (s ? s.split(",").filter(Boolean) : []);

export function tapView(port: PortInfo, link: Link | undefined, bandwidth?: TapBandwidth): Tap {
  const ids = port.externalIds;
  const kind = (ids[KIND_KEY] ?? "tap") as PortKind;
  return {
    name: port.name,
    bridge: port.bridge ?? "",
    kind,
    // In OVN mode the port is untagged and its VLAN (logical switch) is recorded beside it.
    vlan: port.tag ?? (ids[VLAN_KEY] !== undefined ? Number(ids[VLAN_KEY]) : undefined),
    logicalPort: ids[LSP_KEY],
    mac: ids[MAC_KEY],
    deviceMac: link?.mac,
    host: kind === "host-tap" || kind === "capture",
    container: ids[CONTAINER_KEY],
    defunct: ids[DEFUNCT_KEY] === "true",
    up: link?.up ?? false,
    present: link !== undefined,
    ipv4: list(ids[IPV4_KEY]),
    ipv6: list(ids[IPV6_KEY]),
    counters: link?.stats,
    bandwidth,
  };
}

/** Kinds that are taps (trunks, tunnels are other ports). */
export const TAP_KINDS: ReadonlySet<string> = new Set([
  "tap",
  "host-tap",
  "container-tap",
  "qinq",
  "capture",
]);
