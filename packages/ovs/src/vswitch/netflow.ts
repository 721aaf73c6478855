// NetFlow export of a bridge's flows (one NetFlow row per bridge, replaced as a whole).
import { OvsNotFoundError, parseInput } from "../errors.js";
import { emptySet, map, namedUuid, type Operation, type Uuid, uuidsOf } from "../ovsdb/operations.js";
import type { DeleteOptions } from "./bridge.js";
import type { VswitchContext, WriteOptions } from "./context.js";
import { interfaceName, type NetflowSpec, netflowSpec } from "./inputs.js";

async function bridgeRow(ctx: VswitchContext, bridge: string) {
  parseInput(interfaceName, bridge, "bridge");
  const [row] = await ctx.select("Bridge", [["name", "==", bridge]], ["_uuid", "netflow"]);
  if (!row) throw new OvsNotFoundError("bridge", bridge);
  return row;
}

/** Sends the bridge's flow records to collectors (replacing earlier NetFlow settings). */
export async function setNetflow(
  ctx: VswitchContext,
  bridge: string,
  input: NetflowSpec,
  options: WriteOptions = {},
): Promise<void> {
  const spec = parseInput(netflowSpec, input, "netflow");
  const row = await bridgeRow(ctx, bridge);
  const operations: Operation[] = [
    {
      op: "insert",
      table: "NetFlow",
      "uuid-name": "netflow",
      row: {
        targets: ["set", spec.targets],
        external_ids: map(ctx.externalIds(spec.externalIds)),
        ...(spec.activeTimeout !== undefined ? { active_timeout: spec.activeTimeout } : {}),
        ...(spec.engineType !== undefined ? { engine_type: spec.engineType } : {}),
        ...(spec.engineId !== undefined ? { engine_id: spec.engineId } : {}),
        ...(spec.addIdToInterface !== undefined ? { add_id_to_interface: spec.addIdToInterface } : {}),
      },
    },
    {
      op: "update",
      table: "Bridge",
      where: [["_uuid", "==", row._uuid as Uuid]],
      row: { netflow: namedUuid("netflow") },
    },
  ];
  await ctx.commit(operations, options);
}

/** Changes the active timeout (seconds) of the bridge's NetFlow settings. */
export async function setNetflowTimeout(
  ctx: VswitchContext,
  bridge: string,
  activeTimeout: number,
  options: WriteOptions = {},
): Promise<void> {
  parseInput(netflowSpec.shape.activeTimeout, activeTimeout, "activeTimeout");
  const row = await bridgeRow(ctx, bridge);
  const [id] = uuidsOf(row.netflow);
  if (!id) throw new OvsNotFoundError("NetFlow on bridge", bridge);
  await ctx.commit(
    [
      {
        op: "update",
        table: "NetFlow",
        where: [["_uuid", "==", ["uuid", id]]],
        row: { active_timeout: activeTimeout },
      },
    ],
    options,
  );
}

/** Stops NetFlow export on the bridge. */
export async function deleteNetflow(
  ctx: VswitchContext,
  bridge: string,
  options: DeleteOptions = {},
): Promise<void> {
  const row = await bridgeRow(ctx, bridge);
  if (uuidsOf(row.netflow).length === 0) {
    if (options.ifExists) return;
    throw new OvsNotFoundError("NetFlow on bridge", bridge);
  }
  await ctx.commit(
    [
      {
        op: "update",
        table: "Bridge",
        where: [["_uuid", "==", row._uuid as Uuid]],
        row: { netflow: emptySet() },
      },
    ],
    options,
  );
}
