// What every Bridge method shares: the OVSDB client and typed Vswitch, one rtnetlink handle in
// the netns the taps live in, the ownership mark, and a queue per bridge. Nothing here caches
// switch or kernel state: reads go to OVSDB and the kernel each time.
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { formatOwnerMark, type NetnsRef, ownerMarkForThisProcess, type Rtnl } from "@vmnet/netlink-native";
import { Ofctl, type OvsdbClient, type Vswitch } from "@vmnet/ovs";
import { KIND_KEY, MARK_KEY, type PortKind } from "./keys.js";
import type { OvnBinding } from "./ovn.js";
import { SerialQueue } from "./serial-queue.js";
import type { TapBatcher } from "./tap-batcher.js";

export interface BridgesContextInit {
  client: OvsdbClient;
  vswitch: Vswitch;
  rtnl: Rtnl;
  netns: NetnsRef | undefined;
  owner: string;
  tapFormat: string;
  datapathType: string | undefined;
  remote: string;
  /** Set in OVN mode: VLANs are logical switches, taps are bound to logical ports. */
  ovn?: OvnBinding | undefined;
}

export class BridgesContext {
  readonly client: OvsdbClient;
  readonly vswitch: Vswitch;
  readonly rtnl: Rtnl;
  readonly netns: NetnsRef | undefined;
  readonly owner: string;
  readonly tapFormat: string;
  readonly datapathType: string | undefined;
  readonly remote: string;
  readonly ofctl: Ofctl;
  readonly ovn: OvnBinding | undefined;
  /** Names being created right now by this process (not yet visible in the kernel or OVSDB). */
  readonly reservedNames = new Set<string>();
  private readonly queues = new Map<string, SerialQueue>();
  private readonly batchers = new Map<string, TapBatcher>();

  constructor(init: BridgesContextInit) {
    this.client = init.client;
    this.vswitch = init.vswitch;
    this.rtnl = init.rtnl;
    this.netns = init.netns;
    this.owner = init.owner;
    this.tapFormat = init.tapFormat;
    this.datapathType = init.datapathType;
    this.remote = init.remote;
    this.ovn = init.ovn;
    const rundir = init.remote.startsWith("unix:") ? dirname(init.remote.slice(5)) : undefined;
    this.ofctl = new Ofctl(rundir ? { rundir } : {});
  }

  /** The ifalias mark on every kernel link this process creates. */
  mark(role: string): string {
    return formatOwnerMark(ownerMarkForThisProcess(this.owner, role));
  }

  /** external_ids for a port row: its kind, the creating process, and extras. */
  portIds(kind: PortKind, extra: Record<string, string | undefined> = {}): Record<string, string> {
    const ids: Record<string, string> = { [KIND_KEY]: kind, [MARK_KEY]: this.mark(kind) };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) ids[k] = v;
    return ids;
  }

  /** Options for @vmnet/tc-qos and @vmnet/capture: act in the taps' netns. */
  get netnsOption(): { netns?: NetnsRef } {
    return this.netns === undefined ? {} : { netns: this.netns };
  }

  /** The createTap coalescer of a bridge (one per bridge, like the queue). */
  batcher(bridge: string, make: () => TapBatcher): TapBatcher {
    let b = this.batchers.get(bridge);
    if (!b) {
      b = make();
      this.batchers.set(bridge, b);
    }
    return b;
  }

  queue(bridge: string): SerialQueue {
    let q = this.queues.get(bridge);
    if (!q) {
      q = new SerialQueue();
      this.queues.set(bridge, q);
    }
    return q;
  }
}

/** The datapath a new bridge gets: the kernel's when its OVS module is loaded, else userspace. */
export function defaultDatapathType(): string {
  return existsSync("/sys/module/openvswitch") ? "system" : "netdev";
}
