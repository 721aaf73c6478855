// Bridges: the registry of bridges (minimega's Bridges). It opens one OVSDB connection and one
// rtnetlink handle in the netns where the switch and the taps live. Bridges are found in OVSDB by
// name; one created here carries the ownership mark, one that existed before is adopted (and
// destroyBridge then removes only what vmnet added to it).
import { type Link, type NetnsRef, Rtnl } from "@vmnet/netlink-native";
import { OvsdbClient, Vswitch } from "@vmnet/ovs";
import { z } from "zod";
import { VmnetError } from "../errors.js";
import { DEFAULT_OWNER } from "../plan/owner.js";
import { Bridge, type BridgeInfo, type BridgeShared } from "./bridge.js";
import { type CaptureInfo, CaptureRegistry } from "./capture.js";
import { checkOvs, type OvsCheck, SYSTEM_DB } from "./check-ovs.js";
import { BridgesContext, defaultDatapathType } from "./context.js";
import { ifName, ownerName, parseInput, tapFormat } from "./input.js";
import { MARK_KEY, OWNER_KEY } from "./keys.js";
import { INTEGRATION_BRIDGE, OvnBinding, ovnOptions } from "./ovn.js";
import { type ReapReport, reapLeftovers } from "./reap.js";
import { Snooper } from "./snoop.js";
import { BandwidthSampler } from "./stats.js";
import { bridgeInfosOf, tapsOf } from "./switch-view.js";
import type { Tap } from "./tap.js";
import { deleteMarkedLinks, destroyPorts, logicalPortsOf, type PlanHooks } from "./taps.js";

const bridgesOptions = z
  .object({
    /** OVSDB remote ("unix:/path" or "tcp:host:port"); default $OVS_DB or the system socket. */
    db: z.string().min(1).optional(),
    /** An already connected client (then `db` is only used for ovs-ofctl's rundir). */
    client: z.custom<OvsdbClient>((v) => v instanceof OvsdbClient, "must be an OvsdbClient").optional(),
    /** The netns of the switch and the taps (name or path); default the caller's. */
    netns: z
      .union([z.string().min(1), z.object({ name: z.string() }), z.object({ path: z.string() })])
      .optional(),
    owner: ownerName.default(DEFAULT_OWNER),
    defaultBridge: ifName.default("mega_bridge"),
    tapFormat: tapFormat.default("mega_tap%d"),
    /** Datapath of bridges created here (default: system with the OVS kernel module, else netdev). */
    datapathType: z.string().min(1).optional(),
    /** Reap leftovers of dead processes of the same owner at open. */
    reap: z.boolean().default(false),
    /**
     * OVN mode: the local OVS is an OVN chassis; a VLAN is a logical switch in this northbound
     * database and each tap is bound to a logical port, so taps on different hosts share L2.
     * The default bridge becomes br-int.
     */
    ovn: ovnOptions.optional(),
  })
  .strict();
export type BridgesOptions = z.input<typeof bridgesOptions>;

export interface BandwidthTotals {
  rxMBps: number;
  txMBps: number;
  taps: number;
}

export class Bridges {
  private readonly captureRegistry = new CaptureRegistry();
  private readonly netflows: BridgeShared["netflows"] = new Map();
  private sampler: BandwidthSampler | undefined;
  private readonly snoopers = new Map<string, Snooper>();
  private closed = false;

  private constructor(
    readonly ctx: BridgesContext,
    readonly defaultBridge: string,
    private readonly ownsClient: boolean,
  ) {}

  static async open(input: BridgesOptions = {}): Promise<Bridges> {
    const o = parseInput(bridgesOptions, input, "bridges");
    const remote = o.db ?? process.env.OVS_DB ?? SYSTEM_DB;
    const client = o.client ?? (await OvsdbClient.connect(remote));
    let rtnl: Rtnl | undefined;
    let ovn: OvnBinding | undefined;
    try {
      if (o.ovn) ovn = await OvnBinding.open(o.ovn, client, o.owner);
      rtnl = await Rtnl.open(o.netns === undefined ? {} : { netns: o.netns as NetnsRef });
      const datapathType = o.datapathType ?? defaultDatapathType();
      const vswitch = new Vswitch(client, { owner: o.owner, datapathType });
      const ctx = new BridgesContext({
        client,
        vswitch,
        rtnl,
        netns: o.netns as NetnsRef | undefined,
        owner: o.owner,
        tapFormat: o.tapFormat,
        datapathType,
        remote,
        ovn,
      });
      const defaultBridge = o.ovn && input.defaultBridge === undefined ? INTEGRATION_BRIDGE : o.defaultBridge;
      const bridges = new Bridges(ctx, defaultBridge, o.client === undefined);
      if (o.reap) await bridges.reapLeftovers();
      return bridges;
    } catch (e) {
      ovn?.close();
      await rtnl?.close();
      if (!o.client) client.close();
      throw e;
    }
  }

  /** Says whether Open vSwitch is usable at `db`, and what to install or start if not. */
  static checkOvs(db?: string): Promise<OvsCheck> {
    return checkOvs(db);
  }

  /** The bridge named `name` (default: the default bridge), created if missing, adopted if foreign. */
  async get(name: string = this.defaultBridge): Promise<Bridge> {
    parseInput(ifName, name, "bridge");
    await this.ctx.queue(name).run(async () => {
      if (await this.ctx.vswitch.getBridge(name)) return;
      if (this.ctx.datapathType === "netdev") {
        // The userspace datapath forwards veth frames whose TCP/UDP checksums the sender left to
        // "hardware" (CHECKSUM_PARTIAL); without OVS's offload support they arrive corrupt and
        // only ICMP gets through. Turned on unless the administrator chose otherwise.
        const config = await this.ctx.vswitch.getOtherConfig();
        if (config["userspace-tso-enable"] === undefined)
          await this.ctx.vswitch.setOtherConfig({ "userspace-tso-enable": "true" });
      }
      await this.ctx.vswitch.addBridge({
        name,
        mayExist: true,
        externalIds: { [MARK_KEY]: this.ctx.mark("bridge") },
        ...(this.ctx.datapathType ? { datapathType: this.ctx.datapathType } : {}),
      });
    });
    return this.view(name);
  }

  /** A bridge that must exist already (never creates). */
  async existing(name: string = this.defaultBridge): Promise<Bridge> {
    if (!(await this.ctx.vswitch.getBridge(name))) throw new VmnetError(`bridge ${name} does not exist`);
    return this.view(name);
  }

  private view(name: string): Bridge {
    return new Bridge(name, {
      ctx: this.ctx,
      sampler: () => this.sampler,
      captures: this.captureRegistry,
      netflows: this.netflows,
    });
  }

  /** Names of every bridge in the switch (vmnet's and others'). */
  async names(): Promise<string[]> {
    return (await this.ctx.vswitch.listBridges()).map((b) => b.name).sort();
  }

  /** Infos of every bridge (or of `name`), from one OVSDB snapshot. */
  async info(name?: string): Promise<BridgeInfo[]> {
    const snap = await this.ctx.vswitch.snapshot();
    const infos = bridgeInfosOf(snap, this.ctx.owner, name ? [name] : undefined);
    if (name && infos.length === 0) throw new VmnetError(`bridge ${name} does not exist`);
    return infos;
  }

  /** Every vmnet tap on every bridge (one OVSDB read, one link dump). */
  async taps(): Promise<Tap[]> {
    return (await this.overview()).taps;
  }

  /**
   * Every bridge's info, every vmnet tap and the link dump they were read with, from ONE OVSDB
   * snapshot and ONE link dump (what `info()` and `taps()` together cost twice over).
   */
  async overview(): Promise<{ bridges: BridgeInfo[]; taps: Tap[]; links: Link[] }> {
    const [snap, links] = await Promise.all([this.ctx.vswitch.snapshot(), this.ctx.rtnl.links.list()]);
    return {
      bridges: bridgeInfosOf(snap, this.ctx.owner),
      taps: tapsOf(snap, links, this.ctx.owner, this.sampler),
      links,
    };
  }

  async findTap(name: string): Promise<Tap | undefined> {
    return (await this.taps()).find((t) => t.name === name);
  }

  async hostTaps(): Promise<Tap[]> {
    return (await this.taps()).filter((t) => t.kind === "host-tap");
  }

  /**
   * The packet captures started through this Bridges (`Bridge.capture` / `captureTap`): the
   * running ones with live counters, then the last 64 finished ones with their final counters.
   */
  captures(): CaptureInfo[] {
    return this.captureRegistry.list();
  }

  // ---- bandwidth and snooping ----

  /** Starts sampling every link's counters (one dump per sample); taps then report `bandwidth`. */
  startBandwidth(options: { intervalMs?: number; samples?: number } = {}): BandwidthSampler {
    if (!this.sampler) {
      this.sampler = new BandwidthSampler(this.ctx.rtnl, options.intervalMs ?? 5000, options.samples ?? 10);
      this.sampler.start();
    }
    return this.sampler;
  }

  /** Sum of every tap's averaged rates (MB/s). */
  async bandwidth(): Promise<BandwidthTotals> {
    const taps = await this.taps();
    let rx = 0;
    let tx = 0;
    let n = 0;
    for (const t of taps) {
      if (!t.bandwidth) continue;
      rx += t.bandwidth.rxMBps;
      tx += t.bandwidth.txMBps;
      n++;
    }
    return { rxMBps: rx, txMBps: tx, taps: n };
  }

  /** Learns taps' IPv4/IPv6 addresses from ARP, ND and DHCP seen on `bridge` (written to OVSDB). */
  async startSnooping(bridge: string = this.defaultBridge): Promise<Snooper> {
    let s = this.snoopers.get(bridge);
    if (!s) {
      s = await Snooper.start(this.ctx, bridge);
      this.snoopers.set(bridge, s);
    }
    return s;
  }

  async stopSnooping(bridge: string = this.defaultBridge): Promise<void> {
    const s = this.snoopers.get(bridge);
    this.snoopers.delete(bridge);
    await s?.stop();
  }

  // ---- teardown ----

  /** Removes every defunct tap of every bridge (one transaction, one group delete). */
  async reapTaps(hooks?: PlanHooks): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.names()) out.push(...(await this.view(name).reapTaps(hooks)));
    return out;
  }

  /**
   * Removes what vmnet made on a bridge: its taps, mirrors, NetFlow, tunnels and trunks; then the
   * bridge itself unless it existed before vmnet (pre-existing bridges are left as they were).
   */
  async destroyBridge(name: string, hooks?: PlanHooks): Promise<void> {
    parseInput(ifName, name, "bridge");
    await this.stopSnooping(name);
    for (const c of this.captureRegistry.values())
      if (c.bridge === name) await this.captureRegistry.stop(c.id).catch(() => {});
    const nf = this.netflows.get(name);
    nf?.receiver.close();
    this.netflows.delete(name);
    await this.ctx.queue(name).run(async () => {
      const snap = await this.ctx.vswitch.snapshot();
      const row = snap.bridges.find((b) => b.name === name);
      if (!row) throw new VmnetError(`bridge ${name} does not exist`);
      const mine = (ids: Record<string, string>) => ids[OWNER_KEY] === this.ctx.owner;
      for (const m of snap.mirrors)
        if (m.bridge === name && mine(m.externalIds)) await this.ctx.vswitch.deleteMirror(name, m.name);
      if (row.netflow && mine(row.netflow.externalIds))
        await this.ctx.vswitch.deleteNetflow(name, { ifExists: true });
      const ports = snap.ports.filter((p) => p.bridge === name && mine(p.externalIds)).map((p) => p.name);
      if (mine(row.externalIds)) {
        // Deleting the bridge removes its ports in the same transaction; then the kernel links.
        await this.ctx.vswitch.deleteBridge(name);
        await deleteMarkedLinks(this.ctx, ports);
        const logical = logicalPortsOf(snap.ports.filter((p) => p.bridge === name && mine(p.externalIds)));
        if (this.ctx.ovn && logical.length > 0)
          await this.ctx.ovn.northbound.deleteLogicalPorts(logical, { ifExists: true });
      } else {
        await destroyPorts(this.ctx, ports, hooks ?? {}, { bridge: name });
      }
    });
  }

  /** Destroys every bridge vmnet made or added to, and closes. */
  async destroy(): Promise<void> {
    for (const name of await this.names()) {
      const info = (await this.ctx.vswitch.getBridge(name)) ?? undefined;
      if (!info) continue;
      const touched =
        info.externalIds[OWNER_KEY] === this.ctx.owner ||
        (await this.ctx.vswitch.listPorts(name)).some((p) => p.externalIds[OWNER_KEY] === this.ctx.owner);
      if (touched) await this.destroyBridge(name);
    }
    await this.close();
  }

  /** Reaps what dead processes of the same owner left (never anything without our mark). */
  reapLeftovers(): Promise<ReapReport> {
    return reapLeftovers(this.ctx);
  }

  /** Stops captures, snoopers, collectors and the sampler; closes the connections. Leaves state as is. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const name of [...this.snoopers.keys()]) await this.stopSnooping(name);
    for (const c of this.captureRegistry.values()) await this.captureRegistry.stop(c.id).catch(() => {});
    for (const nf of this.netflows.values()) nf.receiver.close();
    this.netflows.clear();
    await this.sampler?.stop();
    await this.ctx.vswitch.dispose().catch(() => {});
    this.ctx.ovn?.close();
    if (this.ownsClient) this.ctx.client.close();
    await this.ctx.rtnl.close();
  }
}

/**
 * Unmanaged clean-up for after a crash, without a Bridges: deletes a bridge vmnet made (with its
 * ports) and the kernel links of those ports that carry `owner`'s mark.
 */
export async function destroyBridge(name: string, options: BridgesOptions = {}): Promise<void> {
  const b = await Bridges.open(options);
  try {
    await b.destroyBridge(name);
  } finally {
    await b.close();
  }
}

/** Unmanaged: removes one tap vmnet made (its OVS port and its marked kernel link). */
export async function destroyTap(name: string, options: BridgesOptions = {}): Promise<void> {
  const b = await Bridges.open(options);
  try {
    await destroyPorts(b.ctx, [name], {}, { field: "tap" });
  } finally {
    await b.close();
  }
}
