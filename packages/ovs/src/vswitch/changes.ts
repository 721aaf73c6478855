// The operation builders, as a caller sees them: each reads what it needs and returns an
// OvsChange (operations, inverse, result) without committing anything. Put several into one
// transaction with `vswitch.apply(...)` or `vswitch.transact(combineChanges([...]).operations)`,
// and undo them with the combined inverse.
import type { OvsdbClient } from "../ovsdb/client.js";
import { buildAddBridge, buildDeleteBridge, buildSetBridgeConfig, buildSetOtherConfig } from "./bridge.js";
import type { OvsChange } from "./change.js";
import type { VswitchContext } from "./context.js";
import type { BridgeSpec, MirrorSpec, NetflowSpec, PortSpec } from "./inputs.js";
import { buildAddMirror, buildDeleteMirror } from "./mirror.js";
import { buildDeleteNetflow, buildSetNetflow, buildSetNetflowTimeout } from "./netflow.js";
import { buildAddPorts, buildDeletePorts, buildMovePort, buildSetPortTag } from "./port.js";

export class VswitchChanges {
  /** @internal */
  constructor(private readonly ctx: VswitchContext) {}

  get client(): OvsdbClient {
    return this.ctx.client;
  }

  /** Adds a bridge with its own internal port; result: the bridge's uuid. Inverse: removes it. */
  addBridge(spec: BridgeSpec): Promise<OvsChange<string>> {
    return buildAddBridge(this.ctx, spec);
  }

  /** Deletes a bridge with everything on it. Inverse: re-inserts all of it under the old uuids. */
  deleteBridge(name: string, options: { ifExists?: boolean } = {}): Promise<OvsChange> {
    return buildDeleteBridge(this.ctx, name, options);
  }

  /** Sets or removes (undefined) keys of a bridge's other_config. Inverse: the old values. */
  setBridgeOtherConfig(bridge: string, values: Record<string, string | undefined>): Promise<OvsChange> {
    return buildSetBridgeConfig(this.ctx, bridge, "other_config", values);
  }

  /** Sets or removes (undefined) keys of a bridge's external_ids. Inverse: the old values. */
  setBridgeExternalIds(bridge: string, values: Record<string, string | undefined>): Promise<OvsChange> {
    return buildSetBridgeConfig(this.ctx, bridge, "external_ids", values);
  }

  /** Adds ports (each with its interface); result: the names added. Inverse: removes them. */
  addPorts(bridge: string, specs: readonly PortSpec[]): Promise<OvsChange<string[]>> {
    return buildAddPorts(this.ctx, bridge, specs);
  }

  /** Deletes ports; result: the names removed. Inverse: re-inserts them, in their bridges and mirrors. */
  deletePorts(
    names: readonly string[],
    options: { ifExists?: boolean; bridge?: string } = {},
  ): Promise<OvsChange<string[]>> {
    return buildDeletePorts(this.ctx, names, options);
  }

  /** Moves a port to another bridge. Inverse: moves it back. */
  movePort(name: string, toBridge: string): Promise<OvsChange> {
    return buildMovePort(this.ctx, name, toBridge);
  }

  /** Sets (or with undefined, removes) a port's access VLAN. Inverse: the old tag. */
  setPortTag(name: string, tag: number | undefined): Promise<OvsChange> {
    return buildSetPortTag(this.ctx, name, tag);
  }

  /** Adds a mirror; result: its uuid. Inverse: removes it. */
  addMirror(bridge: string, spec: MirrorSpec): Promise<OvsChange<string>> {
    return buildAddMirror(this.ctx, bridge, spec);
  }

  /** Deletes a mirror. Inverse: re-inserts it. */
  deleteMirror(bridge: string, name: string, options: { ifExists?: boolean } = {}): Promise<OvsChange> {
    return buildDeleteMirror(this.ctx, bridge, name, options);
  }

  /** Replaces the bridge's NetFlow settings. Inverse: the old settings (or none). */
  setNetflow(bridge: string, spec: NetflowSpec): Promise<OvsChange> {
    return buildSetNetflow(this.ctx, bridge, spec);
  }

  /** Changes the NetFlow active timeout. Inverse: the old timeout. */
  setNetflowTimeout(bridge: string, activeTimeout: number): Promise<OvsChange> {
    return buildSetNetflowTimeout(this.ctx, bridge, activeTimeout);
  }

  /** Stops NetFlow export. Inverse: the old settings. */
  deleteNetflow(bridge: string, options: { ifExists?: boolean } = {}): Promise<OvsChange> {
    return buildDeleteNetflow(this.ctx, bridge, options);
  }

  /** Sets or removes (undefined) keys of Open_vSwitch.other_config. Inverse: the old values. */
  setOtherConfig(values: Record<string, string | undefined>): Promise<OvsChange> {
    return buildSetOtherConfig(this.ctx, values);
  }
}
