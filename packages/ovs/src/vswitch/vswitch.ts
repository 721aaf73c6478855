// The typed face of an Open vSwitch database: what ovs-vsctl users and minimega's bridge code do,
// as methods that validate their input, mark what they create (external_ids:vmnet-owner) and
// commit each call as one transaction. Each method is a thin wrapper over an operation builder
// (`vswitch.changes`), which a caller can also use directly to put several changes in one
// transaction and keep the inverse that undoes them.
import type { OvsdbClient } from "../ovsdb/client.js";
import type { Operation, OperationResult } from "../ovsdb/operations.js";
import type { DeleteOptions } from "./bridge.js";
import { combineChanges, type OvsChange } from "./change.js";
import { VswitchChanges } from "./changes.js";
import { OWNER_KEY, VswitchContext, type VswitchOptions, type WriteOptions } from "./context.js";
import type { BridgeSpec, MirrorSpec, NetflowSpec, PortSpec } from "./inputs.js";
import { InterfaceWatcher } from "./interfaces.js";
import {
  type BridgeInfo,
  type MirrorInfo,
  type PortInfo,
  readSnapshot,
  type SwitchSnapshot,
} from "./records.js";

export class Vswitch {
  private readonly ctx: VswitchContext;
  /** The operation builders: each returns { operations, inverse, result } and commits nothing. */
  readonly changes: VswitchChanges;

  constructor(
    readonly client: OvsdbClient,
    options: VswitchOptions = {},
  ) {
    this.ctx = new VswitchContext(client, options);
    this.changes = new VswitchChanges(this.ctx);
  }

  /** The value of external_ids:vmnet-owner on what this instance creates. */
  get owner(): string {
    return this.ctx.owner;
  }

  /**
   * Commits operations (e.g. several changes' operations, or their inverse) as one transaction;
   * with `wait` (the default) resolves once ovs-vswitchd has applied them.
   */
  transact(operations: readonly Operation[], options?: WriteOptions): Promise<OperationResult[]> {
    return this.ctx.commit([...operations], options);
  }

  /**
   * Commits several changes as one transaction and returns them combined: `inverse` undoes all
   * of them (in reverse order) as one transaction.
   */
  async apply(changes: readonly OvsChange<unknown>[], options?: WriteOptions): Promise<OvsChange<unknown[]>> {
    const combined = combineChanges(changes);
    if (combined.operations.length > 0) await this.transact(combined.operations, options);
    return combined;
  }

  private async commit<T>(change: Promise<OvsChange<T>>, options?: WriteOptions): Promise<T> {
    const built = await change;
    if (built.operations.length > 0) await this.ctx.commit([...built.operations], options);
    return built.result;
  }

  // ---- bridges ----

  /** ovs-vsctl add-br; returns the bridge's uuid. */
  addBridge(spec: BridgeSpec, options?: WriteOptions): Promise<string> {
    return this.commit(this.changes.addBridge(spec), options);
  }

  /** ovs-vsctl del-br: the bridge with its ports, mirrors and NetFlow. */
  deleteBridge(name: string, options: DeleteOptions = {}): Promise<void> {
    return this.commit(this.changes.deleteBridge(name, options), options);
  }

  async listBridges(): Promise<BridgeInfo[]> {
    return (await readSnapshot(this.client)).bridges;
  }

  async getBridge(name: string): Promise<BridgeInfo | undefined> {
    return (await this.listBridges()).find((b) => b.name === name);
  }

  /** Sets (or with undefined, removes) keys of Bridge.other_config. */
  setBridgeOtherConfig(
    bridge: string,
    values: Record<string, string | undefined>,
    options?: WriteOptions,
  ): Promise<void> {
    return this.commit(this.changes.setBridgeOtherConfig(bridge, values), options);
  }

  // ---- ports ----

  /** ovs-vsctl add-port (with tag, trunks, vlan_mode, type, options...). */
  async addPort(bridge: string, spec: PortSpec, options?: WriteOptions): Promise<void> {
    await this.commit(this.changes.addPorts(bridge, [spec]), options);
  }

  /** Adds many ports in one transaction; returns the names actually added. */
  addPorts(bridge: string, specs: readonly PortSpec[], options?: WriteOptions): Promise<string[]> {
    return this.commit(this.changes.addPorts(bridge, specs), options);
  }

  /** ovs-vsctl del-port; with `bridge`, only from that bridge. */
  async deletePort(name: string, options: DeleteOptions & { bridge?: string } = {}): Promise<void> {
    await this.commit(this.changes.deletePorts([name], options), options);
  }

  /** Deletes many ports in one transaction; returns the names actually removed. */
  deletePorts(
    names: readonly string[],
    options: DeleteOptions & { bridge?: string } = {},
  ): Promise<string[]> {
    return this.commit(this.changes.deletePorts(names, options), options);
  }

  movePort(name: string, toBridge: string, options?: WriteOptions): Promise<void> {
    return this.commit(this.changes.movePort(name, toBridge), options);
  }

  /** Sets the access VLAN, or removes it with undefined. */
  setPortTag(name: string, tag: number | undefined, options?: WriteOptions): Promise<void> {
    return this.commit(this.changes.setPortTag(name, tag), options);
  }

  /** Ports (with their interfaces), of one bridge or all. */
  async listPorts(bridge?: string): Promise<PortInfo[]> {
    const ports = (await readSnapshot(this.client)).ports;
    return bridge === undefined ? ports : ports.filter((p) => p.bridge === bridge);
  }

  async getPort(name: string): Promise<PortInfo | undefined> {
    return (await this.listPorts()).find((p) => p.name === name);
  }

  // ---- mirrors ----

  addMirror(bridge: string, spec: MirrorSpec, options?: WriteOptions): Promise<string> {
    return this.commit(this.changes.addMirror(bridge, spec), options);
  }

  deleteMirror(bridge: string, name: string, options: DeleteOptions = {}): Promise<void> {
    return this.commit(this.changes.deleteMirror(bridge, name, options), options);
  }

  async listMirrors(bridge?: string): Promise<MirrorInfo[]> {
    const mirrors = (await readSnapshot(this.client)).mirrors;
    return bridge === undefined ? mirrors : mirrors.filter((m) => m.bridge === bridge);
  }

  // ---- NetFlow ----

  setNetflow(bridge: string, spec: NetflowSpec, options?: WriteOptions): Promise<void> {
    return this.commit(this.changes.setNetflow(bridge, spec), options);
  }

  setNetflowTimeout(bridge: string, activeTimeout: number, options?: WriteOptions): Promise<void> {
    return this.commit(this.changes.setNetflowTimeout(bridge, activeTimeout), options);
  }

  deleteNetflow(bridge: string, options: DeleteOptions = {}): Promise<void> {
    return this.commit(this.changes.deleteNetflow(bridge, options), options);
  }

  // ---- Open_vSwitch ----

  /** Sets (or with undefined, removes) keys of Open_vSwitch.other_config, e.g. { "vlan-limit": "2" }. */
  setOtherConfig(values: Record<string, string | undefined>, options?: WriteOptions): Promise<void> {
    return this.commit(this.changes.setOtherConfig(values), options);
  }

  async getOtherConfig(): Promise<Record<string, string>> {
    const [row] = await this.ctx.select("Open_vSwitch", [], ["other_config"]);
    const out: Record<string, string> = {};
    const value = row?.other_config;
    if (Array.isArray(value) && value[0] === "map")
      for (const [k, v] of value[1] as [string, string][]) out[k] = v;
    return out;
  }

  // ---- reading ----

  /** Everything (bridges, ports, interfaces, mirrors) in one consistent read. */
  snapshot(): Promise<SwitchSnapshot> {
    return readSnapshot(this.client);
  }

  /** A live view of interface statistics and link state, fed by a monitor. */
  watchInterfaces(): Promise<InterfaceWatcher> {
    return InterfaceWatcher.start(this.client);
  }

  /** Names of bridges and ports carrying this instance's ownership mark (for reaping leftovers). */
  async owned(): Promise<{ bridges: string[]; ports: string[] }> {
    const snap = await readSnapshot(this.client);
    const mine = (ids: Record<string, string>) => ids[OWNER_KEY] === this.ctx.owner;
    return {
      bridges: snap.bridges.filter((b) => mine(b.externalIds)).map((b) => b.name),
      ports: snap.ports.filter((p) => mine(p.externalIds)).map((p) => p.name),
    };
  }

  /** Waits until ovs-vswitchd has applied everything committed so far. */
  async sync(): Promise<void> {
    await this.ctx.commit([], { wait: true });
  }

  /** Stops this instance's monitors (the client stays open). */
  dispose(): Promise<void> {
    return this.ctx.dispose();
  }
}
