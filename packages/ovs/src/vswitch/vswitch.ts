// The typed face of an Open vSwitch database: what ovs-vsctl users and minimega's bridge code do,
// as methods that validate their input, mark what they create (external_ids:vmnet-owner) and
// commit each call as one transaction.
import { parseInput } from "../errors.js";
import type { OvsdbClient } from "../ovsdb/client.js";
import { map, set } from "../ovsdb/operations.js";
import { addBridge, type DeleteOptions, deleteBridge, setBridgeConfig } from "./bridge.js";
import { OWNER_KEY, VswitchContext, type VswitchOptions, type WriteOptions } from "./context.js";
import type { BridgeSpec, MirrorSpec, NetflowSpec, PortSpec } from "./inputs.js";
import { otherConfigInput } from "./inputs.js";
import { InterfaceWatcher } from "./interfaces.js";
import { addMirror, deleteMirror } from "./mirror.js";
import { deleteNetflow, setNetflow, setNetflowTimeout } from "./netflow.js";
import { addPorts, deletePorts, movePort, setPortTag } from "./port.js";
import {
  type BridgeInfo,
  type MirrorInfo,
  type PortInfo,
  readSnapshot,
  type SwitchSnapshot,
} from "./records.js";

export class Vswitch {
  private readonly ctx: VswitchContext;

  constructor(
    readonly client: OvsdbClient,
    options: VswitchOptions = {},
  ) {
    this.ctx = new VswitchContext(client, options);
  }

  /** The value of external_ids:vmnet-owner on what this instance creates. */
  get owner(): string {
    return this.ctx.owner;
  }

  // ---- bridges ----

  /** ovs-vsctl add-br; returns the bridge's uuid. */
  addBridge(spec: BridgeSpec, options?: WriteOptions): Promise<string> {
    return addBridge(this.ctx, spec, options);
  }

  /** ovs-vsctl del-br: the bridge with its ports, mirrors and NetFlow. */
  deleteBridge(name: string, options?: DeleteOptions): Promise<void> {
    return deleteBridge(this.ctx, name, options);
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
    return setBridgeConfig(this.ctx, bridge, "other_config", values, options);
  }

  // ---- ports ----

  /** ovs-vsctl add-port (with tag, trunks, vlan_mode, type, options...). */
  async addPort(bridge: string, spec: PortSpec, options?: WriteOptions): Promise<void> {
    await addPorts(this.ctx, bridge, [spec], options);
  }

  /** Adds many ports in one transaction; returns the names actually added. */
  addPorts(bridge: string, specs: readonly PortSpec[], options?: WriteOptions): Promise<string[]> {
    return addPorts(this.ctx, bridge, specs, options);
  }

  /** ovs-vsctl del-port; with `bridge`, only from that bridge. */
  async deletePort(name: string, options?: DeleteOptions & { bridge?: string }): Promise<void> {
    await deletePorts(this.ctx, [name], options);
  }

  /** Deletes many ports in one transaction; returns the names actually removed. */
  deletePorts(names: readonly string[], options?: DeleteOptions & { bridge?: string }): Promise<string[]> {
    return deletePorts(this.ctx, names, options);
  }

  movePort(name: string, toBridge: string, options?: WriteOptions): Promise<void> {
    return movePort(this.ctx, name, toBridge, options);
  }

  /** Sets the access VLAN, or removes it with undefined. */
  setPortTag(name: string, tag: number | undefined, options?: WriteOptions): Promise<void> {
    return setPortTag(this.ctx, name, tag, options);
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
    return addMirror(this.ctx, bridge, spec, options);
  }

  deleteMirror(bridge: string, name: string, options?: DeleteOptions): Promise<void> {
    return deleteMirror(this.ctx, bridge, name, options);
  }

  async listMirrors(bridge?: string): Promise<MirrorInfo[]> {
    const mirrors = (await readSnapshot(this.client)).mirrors;
    return bridge === undefined ? mirrors : mirrors.filter((m) => m.bridge === bridge);
  }

  // ---- NetFlow ----

  setNetflow(bridge: string, spec: NetflowSpec, options?: WriteOptions): Promise<void> {
    return setNetflow(this.ctx, bridge, spec, options);
  }

  setNetflowTimeout(bridge: string, activeTimeout: number, options?: WriteOptions): Promise<void> {
    return setNetflowTimeout(this.ctx, bridge, activeTimeout, options);
  }

  deleteNetflow(bridge: string, options?: DeleteOptions): Promise<void> {
    return deleteNetflow(this.ctx, bridge, options);
  }

  // ---- Open_vSwitch ----

  /** Sets (or with undefined, removes) keys of Open_vSwitch.other_config, e.g. { "vlan-limit": "2" }. */
  async setOtherConfig(values: Record<string, string | undefined>, options?: WriteOptions): Promise<void> {
    const present = Object.fromEntries(
      Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined),
    );
    parseInput(otherConfigInput, present, "otherConfig");
    await this.ctx.commit(
      [
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [
            ["other_config", "delete", set(Object.keys(values))],
            ["other_config", "insert", map(present)],
          ],
        },
      ],
      options,
    );
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
