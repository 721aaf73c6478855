// NetFlow export of a bridge's flows (one NetFlow row per bridge, replaced as a whole). The
// inverse of replacing or deleting it re-inserts the old row under its old uuid.
import { OvsNotFoundError, parseInput } from "../errors.js";
import { emptySet, map, type Operation, type Row, type Uuid, uuidOf, uuidsOf } from "../ovsdb/operations.js";
import { rowExists } from "./bridge.js";
import { newRowUuid, type OvsChange, restoreInsert } from "./change.js";
import type { VswitchContext } from "./context.js";
import { interfaceName, type NetflowSpec, netflowSpec } from "./inputs.js";

/** The bridge row and its current NetFlow row (if any), read together. */
async function bridgeAndNetflow(
  ctx: VswitchContext,
  bridge: string,
): Promise<{ bridge: Row; netflow: Row | undefined }> {
  parseInput(interfaceName, bridge, "bridge");
  const [bridges, netflows] = await ctx.selectMany([
    { table: "Bridge", where: [["name", "==", bridge]], columns: ["_uuid", "netflow"] },
    { table: "NetFlow", where: [], columns: await ctx.configColumns("NetFlow") },
  ]);
  const row = bridges?.[0];
  if (!row) throw new OvsNotFoundError("bridge", bridge);
  const id = uuidsOf(row.netflow)[0];
  return { bridge: row, netflow: (netflows ?? []).find((n) => uuidOf(n._uuid) === id) };
}

/** Operations that put the bridge's NetFlow back as `old` was (none: no NetFlow). */
function restoreNetflow(bridgeId: Uuid, old: Row | undefined): Operation[] {
  const where: [string, "==", Uuid][] = [["_uuid", "==", bridgeId]];
  if (!old) return [{ op: "update", table: "Bridge", where, row: { netflow: emptySet() } }];
  return [
    restoreInsert("NetFlow", old),
    { op: "update", table: "Bridge", where, row: { netflow: old._uuid as Uuid } },
  ];
}

/** Sends the bridge's flow records to collectors (replacing earlier NetFlow settings). */
export async function buildSetNetflow(
  ctx: VswitchContext,
  bridge: string,
  input: NetflowSpec,
): Promise<OvsChange> {
  const spec = parseInput(netflowSpec, input, "netflow");
  const { bridge: row, netflow: old } = await bridgeAndNetflow(ctx, bridge);
  const id = newRowUuid();
  const bridgeId = row._uuid as Uuid;
  return {
    description: `set NetFlow of ${bridge} to ${spec.targets.join(", ")}`,
    operations: [
      rowExists("Bridge", bridgeId),
      {
        op: "insert",
        table: "NetFlow",
        uuid: id[1],
        row: {
          targets: ["set", spec.targets],
          external_ids: map(ctx.externalIds(spec.externalIds)),
          ...(spec.activeTimeout !== undefined ? { active_timeout: spec.activeTimeout } : {}),
          ...(spec.engineType !== undefined ? { engine_type: spec.engineType } : {}),
          ...(spec.engineId !== undefined ? { engine_id: spec.engineId } : {}),
          ...(spec.addIdToInterface !== undefined ? { add_id_to_interface: spec.addIdToInterface } : {}),
        },
      },
      { op: "update", table: "Bridge", where: [["_uuid", "==", bridgeId]], row: { netflow: id } },
    ],
    inverse: restoreNetflow(bridgeId, old),
    result: undefined,
  };
}

/** Changes the active timeout (seconds) of the bridge's NetFlow settings. */
export async function buildSetNetflowTimeout(
  ctx: VswitchContext,
  bridge: string,
  activeTimeout: number,
): Promise<OvsChange> {
  parseInput(netflowSpec.shape.activeTimeout, activeTimeout, "activeTimeout");
  const { netflow } = await bridgeAndNetflow(ctx, bridge);
  if (!netflow) throw new OvsNotFoundError("NetFlow on bridge", bridge);
  const where: [string, "==", Uuid][] = [["_uuid", "==", netflow._uuid as Uuid]];
  return {
    description: `set NetFlow active timeout of ${bridge} to ${activeTimeout} s`,
    operations: [{ op: "update", table: "NetFlow", where, row: { active_timeout: activeTimeout } }],
    inverse: [
      { op: "update", table: "NetFlow", where, row: { active_timeout: netflow.active_timeout ?? 600 } },
    ],
    result: undefined,
  };
}

/** Stops NetFlow export on the bridge. */
export async function buildDeleteNetflow(
  ctx: VswitchContext,
  bridge: string,
  options: { ifExists?: boolean } = {},
): Promise<OvsChange> {
  const { bridge: row, netflow } = await bridgeAndNetflow(ctx, bridge);
  const description = `delete NetFlow of ${bridge}`;
  if (!netflow) {
    if (options.ifExists) return { description, operations: [], inverse: [], result: undefined };
    throw new OvsNotFoundError("NetFlow on bridge", bridge);
  }
  const bridgeId = row._uuid as Uuid;
  return {
    description,
    operations: [
      { op: "update", table: "Bridge", where: [["_uuid", "==", bridgeId]], row: { netflow: emptySet() } },
    ],
    inverse: restoreNetflow(bridgeId, netflow),
    result: undefined,
  };
}
