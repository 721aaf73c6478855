// Bridge rows: add (with the bridge's own internal port, as ovs-vsctl add-br does), delete, and
// map columns. Port, Interface, Mirror and NetFlow rows are not root tables: removing the bridge's
// reference from Open_vSwitch lets OVSDB garbage-collect everything below it in the same commit,
// and the inverse of a delete re-inserts all of them under their old uuids.
import { OvsAlreadyExistsError, OvsNotFoundError, parseInput } from "../errors.js";
import { map, type Operation, type Row, set, type Uuid, uuidOf, uuidsOf } from "../ovsdb/operations.js";
import { newRowUuid, type OvsChange, restoreInsert, restoreMapKeys } from "./change.js";
import type { VswitchContext, WriteOptions } from "./context.js";
import { type BridgeSpec, bridgeSpec, interfaceName, otherConfigInput } from "./inputs.js";

export interface DeleteOptions extends WriteOptions {
  /** Succeed without change when the object does not exist (ovs-vsctl --if-exists). */
  ifExists?: boolean;
}

const NO_CHANGE = { operations: [], inverse: [] } as const;

/** Adds a bridge; the result is its uuid. */
export async function buildAddBridge(ctx: VswitchContext, input: BridgeSpec): Promise<OvsChange<string>> {
  const spec = parseInput(bridgeSpec, input, "bridge");
  const description = `add bridge ${spec.name}`;
  const existing = await ctx.select("Bridge", [["name", "==", spec.name]], ["_uuid"]);
  if (existing[0]) {
    if (spec.mayExist) return { description, ...NO_CHANGE, result: uuidOf(existing[0]._uuid) ?? "" };
    throw new OvsAlreadyExistsError("bridge", spec.name);
  }
  const externalIds = map(ctx.externalIds(spec.externalIds));
  const datapathType = spec.datapathType ?? ctx.datapathType;
  const [iface, port, bridge] = [newRowUuid(), newRowUuid(), newRowUuid()];
  const operations: Operation[] = [
    {
      op: "insert",
      table: "Interface",
      uuid: iface[1],
      row: { name: spec.name, type: "internal", external_ids: externalIds },
    },
    {
      op: "insert",
      table: "Port",
      uuid: port[1],
      row: { name: spec.name, interfaces: iface, external_ids: externalIds },
    },
    {
      op: "insert",
      table: "Bridge",
      uuid: bridge[1],
      row: {
        name: spec.name,
        ports: port,
        external_ids: externalIds,
        ...(datapathType ? { datapath_type: datapathType } : {}),
        ...(spec.failMode ? { fail_mode: spec.failMode } : {}),
        ...(spec.otherConfig ? { other_config: map(spec.otherConfig) } : {}),
      },
    },
    { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "insert", bridge]] },
  ];
  const inverse: Operation[] = [
    { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", set([bridge])]] },
  ];
  return { description, operations, inverse, result: bridge[1] };
}

/** Fail (and change nothing) if the row is no longer there. */
export const rowExists = (table: string, id: Uuid): Operation => ({
  op: "wait",
  table,
  where: [["_uuid", "==", id]],
  columns: ["_uuid"],
  until: "!=",
  rows: [],
  timeout: 0,
});

/** Deletes a bridge with its ports, mirrors and NetFlow settings; the inverse rebuilds all of them. */
export async function buildDeleteBridge(
  ctx: VswitchContext,
  name: string,
  options: { ifExists?: boolean } = {},
): Promise<OvsChange> {
  parseInput(interfaceName, name, "bridge name");
  const description = `delete bridge ${name}`;
  const [bridges, ports, interfaces, mirrors, netflows] = await ctx.selectMany([
    { table: "Bridge", where: [["name", "==", name]], columns: await ctx.configColumns("Bridge") },
    { table: "Port", where: [], columns: await ctx.configColumns("Port") },
    { table: "Interface", where: [], columns: await ctx.configColumns("Interface") },
    { table: "Mirror", where: [], columns: await ctx.configColumns("Mirror") },
    { table: "NetFlow", where: [], columns: await ctx.configColumns("NetFlow") },
  ]);
  const row = bridges?.[0];
  if (!row) {
    if (options.ifExists) return { description, ...NO_CHANGE, result: undefined };
    throw new OvsNotFoundError("bridge", name);
  }
  const id = row._uuid as Uuid;
  const byId = (rows: Row[] | undefined) => new Map((rows ?? []).map((r) => [uuidOf(r._uuid) ?? "", r]));
  const portRows = byId(ports);
  const ifaceRows = byId(interfaces);
  const mirrorRows = byId(mirrors);
  const netflowRows = byId(netflows);
  const restore: Operation[] = [];
  for (const portId of uuidsOf(row.ports)) {
    const port = portRows.get(portId);
    if (!port) continue;
    for (const ifaceId of uuidsOf(port.interfaces)) {
      const iface = ifaceRows.get(ifaceId);
      if (iface) restore.push(restoreInsert("Interface", iface));
    }
    restore.push(restoreInsert("Port", port));
  }
  for (const mirrorId of uuidsOf(row.mirrors)) {
    const mirror = mirrorRows.get(mirrorId);
    if (mirror) restore.push(restoreInsert("Mirror", mirror));
  }
  for (const netflowId of uuidsOf(row.netflow)) {
    const netflow = netflowRows.get(netflowId);
    if (netflow) restore.push(restoreInsert("NetFlow", netflow));
  }
  restore.push(restoreInsert("Bridge", row));
  restore.push({
    op: "mutate",
    table: "Open_vSwitch",
    where: [],
    mutations: [["bridges", "insert", set([id])]],
  });
  return {
    description,
    operations: [
      rowExists("Bridge", id),
      { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", set([id])]] },
    ],
    inverse: restore,
    result: undefined,
  };
}

/** Sets or removes (value undefined) keys of a bridge's other_config or external_ids. */
export async function buildSetBridgeConfig(
  ctx: VswitchContext,
  name: string,
  column: "other_config" | "external_ids",
  values: Record<string, string | undefined>,
): Promise<OvsChange> {
  parseInput(interfaceName, name, "bridge");
  const present = Object.fromEntries(
    Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined),
  );
  parseInput(otherConfigInput, present, column === "other_config" ? "otherConfig" : "externalIds");
  const [row] = await ctx.select("Bridge", [["name", "==", name]], ["_uuid", column]);
  if (!row) throw new OvsNotFoundError("bridge", name);
  const where: [string, "==", Uuid][] = [["_uuid", "==", row._uuid as Uuid]];
  const keys = Object.keys(values);
  return {
    description: `set ${column} of bridge ${name}`,
    operations: [
      {
        op: "mutate",
        table: "Bridge",
        where,
        mutations: [
          [column, "delete", set(keys)],
          [column, "insert", map(present)],
        ],
      },
    ],
    inverse: [{ op: "mutate", table: "Bridge", where, mutations: restoreMapKeys(column, row[column], keys) }],
    result: undefined,
  };
}

/** Sets or removes (value undefined) keys of Open_vSwitch.other_config. */
export async function buildSetOtherConfig(
  ctx: VswitchContext,
  values: Record<string, string | undefined>,
): Promise<OvsChange> {
  const present = Object.fromEntries(
    Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined),
  );
  parseInput(otherConfigInput, present, "otherConfig");
  const [row] = await ctx.select("Open_vSwitch", [], ["other_config"]);
  const keys = Object.keys(values);
  return {
    description: "set Open_vSwitch other_config",
    operations: [
      {
        op: "mutate",
        table: "Open_vSwitch",
        where: [],
        mutations: [
          ["other_config", "delete", set(keys)],
          ["other_config", "insert", map(present)],
        ],
      },
    ],
    inverse: [
      {
        op: "mutate",
        table: "Open_vSwitch",
        where: [],
        mutations: restoreMapKeys("other_config", row?.other_config, keys),
      },
    ],
    result: undefined,
  };
}
