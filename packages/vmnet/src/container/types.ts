// The shapes ContainerSideNetwork hands out and journals.
import type { ResultV1 } from "@vmnet/cni-result";
import type { NetnsRef, NftFamily, Step } from "@vmnet/netlink-native";
import type { DhcpServer } from "../dhcp/index.js";
import type { Dhcp6Server } from "../dhcp6/index.js";
import type { ForwardPort, MasqueradeOptions, PrivateSubnet } from "../masquerade/index.js";
import type { RouterAdvertiser } from "../ra/index.js";
import type { LinkInfo } from "./link-info.js";

export type WiringMode = "bridge" | "tcfilter" | "masquerade";

export interface SetupOptions {
  /** The pod's network namespace: a name under /run/netns, a path, or { pid }. */
  netns: NetnsRef;
  /** The CNI result (any version). Without it, the result is read from the pod's links. */
  result?: unknown;
  /** Version of the returned `result` (default "1.0.0"). */
  cniVersion?: "1.0.0" | "1.1.0";
  mode: WiringMode;
  /**
   * Masquerade mode: the VM's private addresses (default 10.0.2.2/24, and fd10:0:2::2/120 when
   * the pod has IPv6) and the ports forwarded from the pod's address to the VM.
   */
  masquerade?: MasqueradeOptions;
  /** Open the TAPs with IFF_VNET_HDR (qemu's vnet_hdr=on). */
  vnetHdr?: boolean;
  /** TAP queues (multi-queue when > 1). */
  queues?: number;
  /** MTU of the TAPs and bridges, announced by DHCP; default the CNI interface's, never above it. */
  mtu?: number;
  /** TAP names, in the order of the CNI interfaces (default tap0, tap1, ...: the first free). */
  taps?: string[];
  /** Serve the CNI identity by DHCP on each TAP (default true). */
  dhcp?: boolean;
  /** Where the journal is kept (default /run/vmnet). */
  stateDir?: string;
  /** Owner name in the marks on everything created (default "vmnet"). */
  owner?: string;
  /** Called before each setup step; throwing fails that step (tests inject faults here). */
  beforeStep?: (step: Step, index: number) => void | Promise<void>;
}

/** One CNI interface handed to the VM. */
export interface ContainerInterface {
  /** The CNI interface's name in the pod (e.g. eth0). */
  name: string;
  tap: { name: string; fds: number[] };
  /** The MAC the VM must use: the CNI interface's original one (masquerade: a random one when it has none). */
  hardwareAddr: string;
  mtu: number;
  /** The CNI interface as setup found it. */
  link: LinkInfo;
  /** The bridge joining the TAP and the CNI interface (bridge mode). */
  bridge?: string;
}

export interface ContainerSideNetwork {
  readonly netns: string;
  readonly mode: WiringMode;
  /** The CNI result (as given, completed from the kernel), in the version asked for. */
  readonly result: ResultV1;
  readonly interfaces: readonly ContainerInterface[];
  readonly dhcp: DhcpServer | undefined;
  /** The DHCPv6 server and router advertiser (when the VM has IPv6 to be served). */
  readonly dhcp6: Dhcp6Server | undefined;
  readonly routerAdvertiser: RouterAdvertiser | undefined;
  /** The journal file that lets another process recover or tear this down. */
  readonly journalPath: string;
  /** Restores exactly what setup found; idempotent; throws (never swallows) what it could not do. */
  teardown(): Promise<void>;
}

/** What the journal keeps for one interface. */
export interface JournalInterface {
  cni: LinkInfo;
  tap: string;
  bridge?: string;
  /** Address given to the bridge for the DHCP server (bridge mode). */
  bridgeAddress?: string;
  /** The CNI interface's MAC while wired (bridge mode gives it a new one). */
  wiredMac: string;
  mtu: number;
  /** tc-filter mode: whether the CNI interface had an ingress qdisc before. */
  hadIngress?: boolean;
  /** The MAC of the CNI interface's IPv6 gateway, learned before wiring (bridge and tc-filter modes). */
  routerMac6?: string;
  /** Masquerade mode: the VM's MAC when it is not the CNI interface's. */
  vmMac?: string;
}

/** What masquerade mode journals. */
export interface JournalMasquerade {
  ipv4: PrivateSubnet;
  ipv6?: PrivateSubnet;
  forwardPorts: ForwardPort[];
  /** The CNI interfaces traffic is NATed out of. */
  links: string[];
  /** Sysctls as setup found them (keys relative to /proc/sys). */
  sysctls: Record<string, string>;
}

export interface CsnJournal {
  version: 1;
  kind: "container-side-network";
  netns: string;
  netnsId: string;
  owner: string;
  /** The mark written on every link and nftables table setup creates. */
  mark: string;
  mode: WiringMode;
  /** Link group of every link setup creates: deleting the group is one request. */
  group: number;
  loWasUp: boolean;
  nftTable?: string;
  /** The nft table's family (default "bridge"; masquerade mode: "inet"). */
  nftFamily?: NftFamily;
  masquerade?: JournalMasquerade;
  /** The DHCPv6 server's DUID (hex), the same after recovery. */
  dhcp6Duid?: string;
  vnetHdr: boolean;
  queues: number;
  result: ResultV1;
  interfaces: JournalInterface[];
  /** False until every setup step ran: recovery of an incomplete setup tears it down. */
  complete: boolean;
}
