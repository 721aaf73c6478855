// Bridge rows: add (with the bridge's own internal port, as ovs-vsctl add-br does), delete, list.
// Port, Interface, Mirror and NetFlow rows are not root tables: removing the bridge's reference
// from Open_vSwitch lets OVSDB garbage-collect everything below it in the same commit.
import { OvsAlreadyExistsError, OvsNotFoundError, parseInput } from "../errors.js";
import { map, namedUuid, type Operation, set, uuid, uuidOf } from "../ovsdb/operations.js";
import type { VswitchContext, WriteOptions } from "./context.js";
import { type BridgeSpec, bridgeSpec, interfaceName } from "./inputs.js";

export interface DeleteOptions extends WriteOptions {
  /** Succeed without change when the object does not exist (ovs-vsctl --if-exists). */
  ifExists?: boolean;
}

/** Adds a bridge; returns its uuid. */
export async function addBridge(
  ctx: VswitchContext,
  input: BridgeSpec,
  options: WriteOptions = {},
): Promise<string> {
  const spec = parseInput(bridgeSpec, input, "bridge");
  const existing = await ctx.select("Bridge", [["name", "==", spec.name]], ["_uuid"]);
  if (existing[0]) {
    if (spec.mayExist) return uuidOf(existing[0]._uuid) ?? "";
    throw new OvsAlreadyExistsError("bridge", spec.name);
  }
  const externalIds = ctx.externalIds(spec.externalIds);
  const datapathType = spec.datapathType ?? ctx.datapathType;
  const operations: Operation[] = [
    {
      op: "insert",
      table: "Interface",
      "uuid-name": "iface",
      row: { name: spec.name, type: "internal", external_ids: map(externalIds) },
    },
    {
      op: "insert",
      table: "Port",
      "uuid-name": "port",
      row: { name: spec.name, interfaces: namedUuid("iface"), external_ids: map(externalIds) },
    },
    {
      op: "insert",
      table: "Bridge",
      "uuid-name": "bridge",
      row: {
        name: spec.name,
        ports: namedUuid("port"),
        external_ids: map(externalIds),
        ...(datapathType ? { datapath_type: datapathType } : {}),
        ...(spec.failMode ? { fail_mode: spec.failMode } : {}),
        ...(spec.otherConfig ? { other_config: map(spec.otherConfig) } : {}),
      },
    },
    {
      op: "mutate",
      table: "Open_vSwitch",
      where: [],
      mutations: [["bridges", "insert", namedUuid("bridge")]],
    },
  ];
  const results = await ctx.commit(operations, options);
  return uuidOf(results[2]?.uuid) ?? "";
}

/** Deletes a bridge with its ports, mirrors and NetFlow settings. */
export async function deleteBridge(
  ctx: VswitchContext,
  name: string,
  options: DeleteOptions = {},
): Promise<void> {
  parseInput(interfaceName, name, "bridge name");
  const [row] = await ctx.select("Bridge", [["name", "==", name]], ["_uuid"]);
  const id = row ? uuidOf(row._uuid) : undefined;
  if (!id) {
    if (options.ifExists) return;
    throw new OvsNotFoundError("bridge", name);
  }
  await ctx.commit(
    [
      { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", set([uuid(id)])]] },
      // Guard: fail (and change nothing) if the bridge vanished since it was read.
      {
        op: "wait",
        table: "Bridge",
        where: [["_uuid", "==", uuid(id)]],
        columns: ["name"],
        until: "!=",
        rows: [],
        timeout: 0,
      },
    ],
    options,
  );
}

/** Sets or removes (value undefined) keys of a bridge's other_config or external_ids. */
export async function setBridgeConfig(
  ctx: VswitchContext,
  name: string,
  column: "other_config" | "external_ids",
  values: Record<string, string | undefined>,
  options: WriteOptions = {},
): Promise<void> {
  const [row] = await ctx.select("Bridge", [["name", "==", name]], ["_uuid"]);
  if (!row) throw new OvsNotFoundError("bridge", name);
  const keys = Object.keys(values);
  const present = Object.fromEntries(
    Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined),
  );
  await ctx.commit(
    [
      {
        op: "mutate",
        table: "Bridge",
        where: [["_uuid", "==", row._uuid as ReturnType<typeof uuid>]],
        mutations: [
          [column, "delete", set(keys)],
          [column, "insert", map(present)],
        ],
      },
    ],
    options,
  );
}
