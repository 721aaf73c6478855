// Bridge: one Open vSwitch bridge vmnet manages. Each method is thin: it validates, then runs one
// plan (or one OVSDB transaction) on this bridge's queue. Nothing is remembered here: taps,
// VLANs, mirrors, NetFlow and QoS are read back from OVSDB and the kernel on every call.
import type { CaptureStats } from "@vmnet/capture";
import { VmnetError } from "../errors.js";
import { runPlan } from "../plan/step.js";
import {
  type BridgeCapture,
  type CaptureRegistry,
  type CaptureSpec,
  captureBridge,
  captureTap,
} from "./capture.js";
import type { BridgesContext } from "./context.js";
import { cidr, ifName, parseInput, vlanId } from "./input.js";
import { DEFUNCT_KEY, OWNER_KEY } from "./keys.js";
import { createMirror, destroyMirror, type MirrorSpec } from "./mirror.js";
import { type Netflow, newNetflow } from "./netflow.js";
import { ovnRemoveTap, ovnSetTapVlan } from "./ovn-move.js";
import { readPortIndex } from "./port-index.js";
import { clearQos, type QosSpec, type QosState, readQos, updateQos } from "./qos.js";
import {
  type ContainerTapSpec,
  createContainerTap,
  createHostTap,
  createQinqTap,
  type HostTapSpec,
  type QinqTapSpec,
} from "./special-taps.js";
import type { BandwidthSampler } from "./stats.js";
import { bridgeInfosOf, tapsOf } from "./switch-view.js";
import type { Tap } from "./tap.js";
import { TapBatcher } from "./tap-batcher.js";
import { allocateTapNames } from "./tap-names.js";
import {
  addPortsStep,
  createTaps,
  destroyPorts,
  markDefunct,
  type PlanHooks,
  portSpecFor,
  type TapSpec,
} from "./taps.js";
import { addTrunk, removeTrunk, type TrunkSpec } from "./trunk.js";
import { addTunnel, removeTunnel, type TunnelSpec } from "./tunnel.js";

export interface BridgeInfo {
  name: string;
  /** The bridge existed before vmnet adopted it (destroyBridge then removes only vmnet's parts). */
  preExisting: boolean;
  /** Access VLANs in use by taps. */
  vlans: number[];
  trunks: string[];
  tunnels: { name: string; type: string; remote: string | undefined; key: string | undefined }[];
  mirrors: {
    name: string;
    output: string | undefined;
    selectAll: boolean;
    sources: string[];
    vlans: number[];
  }[];
  netflow: { targets: string[]; activeTimeout: number } | undefined;
  /** Bridge other_config. */
  config: Record<string, string>;
  taps: number;
}

export interface BridgeShared {
  ctx: BridgesContext;
  sampler: () => BandwidthSampler | undefined;
  captures: CaptureRegistry;
  netflows: Map<string, Netflow>;
}

export class Bridge {
  constructor(
    readonly name: string,
    private readonly shared: BridgeShared,
  ) {}

  private get ctx(): BridgesContext {
    return this.shared.ctx;
  }

  private run<T>(job: () => Promise<T>): Promise<T> {
    return this.ctx.queue(this.name).run(job);
  }

  // ---- reading ----

  async info(): Promise<BridgeInfo> {
    const snap = await this.ctx.vswitch.snapshot();
    const [info] = bridgeInfosOf(snap, this.ctx.owner, [this.name]);
    if (!info) throw new VmnetError(`bridge ${this.name} does not exist`);
    return info;
  }

  /** Every vmnet tap on this bridge, read from OVSDB and one kernel link dump. */
  async taps(): Promise<Tap[]> {
    const [snap, links] = await Promise.all([this.ctx.vswitch.snapshot(), this.ctx.rtnl.links.list()]);
    return tapsOf(snap, links, this.ctx.owner, this.shared.sampler(), this.name);
  }

  async tap(name: string): Promise<Tap | undefined> {
    return (await this.taps()).find((t) => t.name === name);
  }

  // ---- taps ----

  /** Creates a tap (persistent kernel TAP, marked, up) on this bridge; returns its name. */
  async createTap(spec: TapSpec = {}, hooks?: PlanHooks): Promise<string> {
    if (hooks) {
      const [name] = await this.run(() => createTaps(this.ctx, this.name, [spec], hooks));
      return name as string;
    }
    // Concurrent calls are coalesced into one batch while the bridge's queue is busy.
    const batcher = this.ctx.batcher(
      this.name,
      () =>
        new TapBatcher(
          (job) => this.ctx.queue(this.name).run(job),
          (specs) => createTaps(this.ctx, this.name, specs),
        ),
    );
    return batcher.create(spec);
  }

  /** Many taps in one netlink batch and one OVSDB transaction. */
  createTaps(specs: readonly TapSpec[], hooks?: PlanHooks): Promise<string[]> {
    return this.run(() => createTaps(this.ctx, this.name, specs, hooks));
  }

  /** Removes taps now: one OVSDB transaction, one kernel group delete. */
  destroyTaps(names: readonly string[], hooks?: PlanHooks): Promise<string[]> {
    return this.run(() => destroyPorts(this.ctx, names, hooks ?? {}, { bridge: this.name }));
  }

  /** Marks a tap defunct (it goes down at once); reapTaps removes defunct taps together. */
  destroyTap(name: string): Promise<void> {
    parseInput(ifName, name, "tap");
    return this.run(() => markDefunct(this.ctx, [name]));
  }

  /** Removes every defunct tap of this bridge in one go; returns their names. */
  reapTaps(hooks?: PlanHooks): Promise<string[]> {
    return this.run(async () => {
      const { ports } = await readPortIndex(this.ctx.client);
      const defunct = [...ports.values()]
        .filter(
          (p) =>
            p.bridge === this.name &&
            p.externalIds[OWNER_KEY] === this.ctx.owner &&
            p.externalIds[DEFUNCT_KEY] === "true",
        )
        .map((p) => p.name);
      return destroyPorts(this.ctx, defunct, hooks ?? {}, { bridge: this.name });
    });
  }

  /**
   * Puts an existing tap on this bridge (from another bridge, or a kernel TAP not yet in OVS) or
   * changes its VLAN. A vlan of undefined makes it a trunk port.
   */
  addTap(name: string, options: { vlan?: number; mac?: string } = {}): Promise<void> {
    parseInput(ifName, name, "tap");
    if (options.vlan !== undefined) parseInput(vlanId, options.vlan, "vlan");
    return this.run(async () => {
      const port = await this.ctx.vswitch.getPort(name);
      // In OVN mode a VLAN is a logical switch: moving there rebinds the logical port.
      if (this.ctx.ovn && port) return ovnSetTapVlan(this.ctx, this.name, name, options.vlan);
      if (!port && this.ctx.ovn) {
        await this.ctx.rtnl.links.get(name);
        await runPlan([addPortsStep(this.ctx, this.name, [portSpecFor(this.ctx, name, "tap", options)])], {
          subject: `add ${name} to ${this.name}`,
        });
        return;
      }
      if (!port) {
        await this.ctx.rtnl.links.get(name);
        await this.ctx.vswitch.addPort(this.name, portSpecFor(this.ctx, name, "tap", options));
        return;
      }
      if (port.externalIds[OWNER_KEY] !== this.ctx.owner)
        throw new VmnetError(`${name}: not a vmnet tap; left alone`);
      if (port.bridge !== this.name) await this.ctx.vswitch.movePort(name, this.name);
      await this.ctx.vswitch.setPortTag(name, options.vlan);
    });
  }

  /** Takes a tap off this bridge; the kernel TAP stays (addTap puts it back). */
  removeTap(name: string): Promise<void> {
    parseInput(ifName, name, "tap");
    if (this.ctx.ovn) return this.run(() => ovnRemoveTap(this.ctx, this.name, name));
    return this.run(async () => {
      const port = await this.ctx.vswitch.getPort(name);
      if (!port || port.bridge !== this.name) throw new VmnetError(`${name}: no tap on bridge ${this.name}`);
      if (port.externalIds[OWNER_KEY] !== this.ctx.owner)
        throw new VmnetError(`${name}: not a vmnet tap; left alone`);
      await this.ctx.vswitch.deletePort(name, { bridge: this.name });
    });
  }

  /** An OVS internal port the host uses (optionally on a VLAN, with an address). */
  createHostTap(spec: HostTapSpec = {}, hooks?: PlanHooks): Promise<string> {
    return this.run(() => createHostTap(this.ctx, this.name, spec, hooks));
  }

  /** A veth whose inner end (eth<index>, with the container's MAC) is in the container's netns. */
  createContainerTap(spec: ContainerTapSpec, hooks?: PlanHooks): Promise<string> {
    return this.run(() => createContainerTap(this.ctx, this.name, spec, hooks));
  }

  /** A QinQ (dot1q-tunnel) tap: outer VLAN pushed, customer VLANs kept inside. */
  createQinqTap(spec: QinqTapSpec, hooks?: PlanHooks): Promise<string> {
    return this.run(() => createQinqTap(this.ctx, this.name, spec, hooks));
  }

  /** The next free tap name (not reserved: creating with it may still race with others). */
  async createTapName(): Promise<string> {
    const [links, index] = await Promise.all([
      this.ctx.rtnl.links.identities(),
      readPortIndex(this.ctx.client),
    ]);
    const taken = new Set([
      ...this.ctx.reservedNames,
      ...links.map((l) => l.name),
      ...index.ports.keys(),
      ...index.interfaceNames,
    ]);
    return allocateTapNames(this.ctx.tapFormat, 1, taken)[0] as string;
  }

  // ---- trunks and tunnels ----

  addTrunk(spec: TrunkSpec | string): Promise<void> {
    return this.run(() => addTrunk(this.ctx, this.name, typeof spec === "string" ? { iface: spec } : spec));
  }

  removeTrunk(iface: string): Promise<void> {
    return this.run(() => removeTrunk(this.ctx, this.name, iface));
  }

  addTunnel(spec: TunnelSpec): Promise<string> {
    return this.run(() => addTunnel(this.ctx, this.name, spec));
  }

  removeTunnel(name: string): Promise<void> {
    return this.run(() => removeTunnel(this.ctx, this.name, name));
  }

  // ---- mirrors and captures ----

  createMirror(spec: MirrorSpec): Promise<string> {
    return this.run(() => createMirror(this.ctx, this.name, spec));
  }

  destroyMirror(name: string): Promise<void> {
    return this.run(() => destroyMirror(this.ctx, this.name, name));
  }

  /** Captures the whole bridge: a select-all mirror into a host tap, captured to `spec.file`. */
  async capture(spec: CaptureSpec): Promise<BridgeCapture> {
    const c = await this.run(() => captureBridge(this.ctx, this.name, spec));
    this.track(c);
    return c;
  }

  /** Captures one tap's traffic. */
  async captureTap(tap: string, spec: CaptureSpec): Promise<BridgeCapture> {
    const c = await captureTap(this.ctx, this.name, tap, spec);
    this.track(c);
    return c;
  }

  /** Stops a capture (by id) and returns its statistics; the capture's mirror and tap go too. */
  async stopCapture(id: number): Promise<CaptureStats> {
    const c = this.shared.captures.get(id);
    if (!c || c.bridge !== this.name) throw new VmnetError(`no capture ${id} on bridge ${this.name}`);
    return this.shared.captures.stop(id);
  }

  private track(c: Parameters<CaptureRegistry["track"]>[0]): void {
    this.shared.captures.track(c);
  }

  // ---- NetFlow ----

  /** Starts a collector and points this bridge's NetFlow export at it. */
  async newNetflow(activeTimeout = 10): Promise<Netflow> {
    const nf = await this.run(() => newNetflow(this.ctx, this.name, activeTimeout));
    this.shared.netflows.set(this.name, nf);
    return nf;
  }

  getNetflow(): Netflow | undefined {
    return this.shared.netflows.get(this.name);
  }

  setNetflowTimeout(seconds: number): Promise<void> {
    return this.run(() => this.ctx.vswitch.setNetflowTimeout(this.name, seconds));
  }

  async destroyNetflow(): Promise<void> {
    await this.run(() => this.ctx.vswitch.deleteNetflow(this.name, { ifExists: true }));
    this.shared.netflows.get(this.name)?.receiver.close();
    this.shared.netflows.delete(this.name);
  }

  // ---- QoS ----

  /** Rate, loss, delay and jitter together; `ingress` shapes what the VM sends. Returns the kernel's view. */
  updateQos(tap: string, spec: QosSpec): Promise<QosState> {
    return this.run(() => updateQos(this.ctx, this.name, tap, spec));
  }

  getQos(tap: string): Promise<QosState> {
    return readQos(this.ctx, this.name, tap);
  }

  removeQos(tap: string): Promise<void> {
    return this.run(() => clearQos(this.ctx, this.name, tap));
  }

  /**
   * Puts an address on the bridge's own device (and brings it up). A bridge holding the underlay
   * address is where userspace VXLAN/GRE tunnels leave from (see "Multi-host" in the README).
   */
  addBridgeAddress(address: string): Promise<void> {
    parseInput(cidr, address, "address");
    return this.run(async () => {
      await this.ctx.rtnl.links.set(this.name, { up: true });
      await this.ctx.rtnl.addresses.add(this.name, address);
    });
  }

  // ---- config ----

  /** Sets (value given) or removes (undefined) a key of the bridge's other_config. */
  config(key: string, value: string | undefined): Promise<void> {
    if (!key) throw new VmnetError("config key must not be empty");
    return this.run(() => this.ctx.vswitch.setBridgeOtherConfig(this.name, { [key]: value }));
  }
}

/**
 * Moving a tap between VLANs would have to move its OVN logical port too; until that is done,
 * OVN mode refuses rather than leave a tagged, unbound port on br-int.
 */
