// Mirrors: copies of a bridge's traffic (all of it, or what enters/leaves chosen ports) sent to an
// output port or VLAN, e.g. a host tap that a capture reads (minimega's whole-bridge capture).
import { OvsAlreadyExistsError, OvsNotFoundError, parseInput } from "../errors.js";
import { map, type Operation, type Row, set, type Uuid, uuidOf, uuidsOf } from "../ovsdb/operations.js";
import { rowExists } from "./bridge.js";
import { newRowUuid, type OvsChange, restoreInsert } from "./change.js";
import type { VswitchContext } from "./context.js";
import { interfaceName, type MirrorSpec, mirrorSpec } from "./inputs.js";

/** Adds a mirror to a bridge; every port it names must be on that bridge. The result is its uuid. */
export async function buildAddMirror(
  ctx: VswitchContext,
  bridge: string,
  input: MirrorSpec,
): Promise<OvsChange<string>> {
  parseInput(interfaceName, bridge, "bridge");
  const spec = parseInput(mirrorSpec, input, "mirror");
  const [bridges, ports, mirrors] = await ctx.selectMany([
    { table: "Bridge", where: [["name", "==", bridge]], columns: ["_uuid", "ports", "mirrors"] },
    { table: "Port", where: [], columns: ["_uuid", "name"] },
    { table: "Mirror", where: [["name", "==", spec.name]], columns: ["_uuid"] },
  ]);
  const bridgeRow = bridges?.[0];
  if (!bridgeRow) throw new OvsNotFoundError("bridge", bridge);
  const mine = new Set(uuidsOf(bridgeRow.mirrors));
  if ((mirrors ?? []).some((row: Row) => mine.has(uuidOf(row._uuid) ?? "")))
    throw new OvsAlreadyExistsError("mirror", spec.name, `on bridge ${bridge}`);
  const onBridge = new Set(uuidsOf(bridgeRow.ports));
  const portIds = new Map((ports ?? []).map((row: Row) => [String(row.name), row._uuid as Uuid]));
  const resolve = (names: string[] | undefined, field: string): Uuid[] =>
    (names ?? []).map((name) => {
      const id = portIds.get(name);
      if (!id || !onBridge.has(id[1]))
        throw new OvsNotFoundError(`port on bridge ${bridge} (mirror.${field})`, name);
      return id;
    });
  const src = resolve(spec.selectSrcPorts, "selectSrcPorts");
  const dst = resolve(spec.selectDstPorts, "selectDstPorts");
  const output = spec.outputPort ? resolve([spec.outputPort], "outputPort") : [];
  const mirror = newRowUuid();
  const where: [string, "==", Uuid][] = [["_uuid", "==", bridgeRow._uuid as Uuid]];
  const operations: Operation[] = [
    rowExists("Bridge", bridgeRow._uuid as Uuid),
    {
      op: "insert",
      table: "Mirror",
      uuid: mirror[1],
      row: {
        name: spec.name,
        external_ids: map(ctx.externalIds(spec.externalIds)),
        ...(spec.selectAll ? { select_all: true } : {}),
        ...(src.length ? { select_src_port: set(src) } : {}),
        ...(dst.length ? { select_dst_port: set(dst) } : {}),
        ...(spec.selectVlans?.length ? { select_vlan: set(spec.selectVlans) } : {}),
        ...(output.length ? { output_port: set(output) } : {}),
        ...(spec.outputVlan !== undefined ? { output_vlan: spec.outputVlan } : {}),
      },
    },
    { op: "mutate", table: "Bridge", where, mutations: [["mirrors", "insert", mirror]] },
  ];
  return {
    description: `add mirror ${spec.name} to ${bridge}`,
    operations,
    inverse: [{ op: "mutate", table: "Bridge", where, mutations: [["mirrors", "delete", set([mirror])]] }],
    result: mirror[1],
  };
}

/** Removes a mirror from a bridge; the inverse re-inserts it under its old uuid. */
export async function buildDeleteMirror(
  ctx: VswitchContext,
  bridge: string,
  name: string,
  options: { ifExists?: boolean } = {},
): Promise<OvsChange> {
  parseInput(interfaceName, bridge, "bridge");
  const [bridges, mirrors] = await ctx.selectMany([
    { table: "Bridge", where: [["name", "==", bridge]], columns: ["_uuid", "mirrors"] },
    { table: "Mirror", where: [["name", "==", name]], columns: await ctx.configColumns("Mirror") },
  ]);
  const bridgeRow = bridges?.[0];
  if (!bridgeRow) throw new OvsNotFoundError("bridge", bridge);
  const mine = new Set(uuidsOf(bridgeRow.mirrors));
  const rows = (mirrors ?? []).filter((row: Row) => mine.has(uuidOf(row._uuid) ?? ""));
  const description = `delete mirror ${name} from ${bridge}`;
  if (rows.length === 0) {
    if (options.ifExists) return { description, operations: [], inverse: [], result: undefined };
    throw new OvsNotFoundError(`mirror on bridge ${bridge}`, name);
  }
  const ids = rows.map((row) => row._uuid as Uuid);
  const where: [string, "==", Uuid][] = [["_uuid", "==", bridgeRow._uuid as Uuid]];
  return {
    description,
    operations: [{ op: "mutate", table: "Bridge", where, mutations: [["mirrors", "delete", set(ids)]] }],
    inverse: [
      ...rows.map((row) => restoreInsert("Mirror", row)),
      { op: "mutate", table: "Bridge", where, mutations: [["mirrors", "insert", set(ids)]] },
    ],
    result: undefined,
  };
}
