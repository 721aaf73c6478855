// Port rows (each with one Interface): add, bulk add, delete, bulk delete, move, retag. Bulk forms
// put every port in one transaction: OVSDB commits it once and ovs-vswitchd reconfigures once,
// which is where the speed over one ovs-vsctl per port comes from. Each builder also computes the
// inverse from the rows it read: deleted ports come back under their old uuids, with their
// interfaces, their place on the bridge and in its mirrors.
import { OvsAlreadyExistsError, OvsInputError, OvsNotFoundError, parseInput } from "../errors.js";
import {
  emptySet,
  map,
  type Operation,
  type Row,
  set,
  type Uuid,
  uuid,
  uuidOf,
  uuidsOf,
} from "../ovsdb/operations.js";
import { rowExists } from "./bridge.js";
import { newRowUuid, type OvsChange, restoreInsert } from "./change.js";
import type { VswitchContext } from "./context.js";
import { interfaceName, type PortSpec, portSpec, vlanId } from "./inputs.js";

type ParsedPort = ReturnType<typeof portSpec.parse>;

function portRows(ctx: VswitchContext, spec: ParsedPort): { ops: Operation[]; port: Uuid } {
  const externalIds = map(ctx.externalIds(spec.externalIds));
  const iface = newRowUuid();
  const port = newRowUuid();
  const ops: Operation[] = [
    {
      op: "insert",
      table: "Interface",
      uuid: iface[1],
      row: {
        name: spec.name,
        external_ids: externalIds,
        ...(spec.type ? { type: spec.type } : {}),
        ...(spec.options ? { options: map(spec.options) } : {}),
        ...(spec.ofportRequest !== undefined ? { ofport_request: spec.ofportRequest } : {}),
        ...(spec.mtuRequest !== undefined ? { mtu_request: spec.mtuRequest } : {}),
      },
    },
    {
      op: "insert",
      table: "Port",
      uuid: port[1],
      row: {
        name: spec.name,
        interfaces: iface,
        external_ids: externalIds,
        ...(spec.tag !== undefined ? { tag: spec.tag } : {}),
        ...(spec.trunks ? { trunks: set(spec.trunks) } : {}),
        ...(spec.vlanMode ? { vlan_mode: spec.vlanMode } : {}),
        ...(spec.cvlans ? { cvlans: set(spec.cvlans) } : {}),
        ...(spec.otherConfig ? { other_config: map(spec.otherConfig) } : {}),
      },
    },
  ];
  return { ops, port };
}

/** Adds ports to a bridge in one transaction; the result is the names added (existing mayExist ones excluded). */
export async function buildAddPorts(
  ctx: VswitchContext,
  bridge: string,
  inputs: readonly PortSpec[],
): Promise<OvsChange<string[]>> {
  parseInput(interfaceName, bridge, "bridge");
  const specs = inputs.map((input, i) =>
    parseInput(portSpec, input, inputs.length === 1 ? "port" : `ports.${i}`),
  );
  const seen = new Set<string>();
  for (const [i, spec] of specs.entries()) {
    if (seen.has(spec.name)) throw new OvsInputError(`ports.${i}.name`, `"${spec.name}" appears twice`);
    seen.add(spec.name);
  }
  // A bulk add reads all port names once; a single add asks for its one name.
  const portWhere =
    specs.length === 1 ? [["name", "==", specs[0]?.name ?? ""] as ["name", "==", string]] : [];
  const [bridges, ports] = await ctx.selectMany([
    { table: "Bridge", where: [["name", "==", bridge]], columns: ["_uuid", "ports"] },
    { table: "Port", where: portWhere, columns: ["_uuid", "name"] },
  ]);
  const bridgeRow = bridges?.[0];
  if (!bridgeRow) throw new OvsNotFoundError("bridge", bridge);
  const bridgeId = bridgeRow._uuid as Uuid;
  const onBridge = new Set(uuidsOf(bridgeRow.ports));
  const existing = new Map((ports ?? []).map((row: Row) => [String(row.name), uuidOf(row._uuid) ?? ""]));

  const description = `add ${specs.length === 1 ? `port ${specs[0]?.name}` : `${specs.length} ports`} to ${bridge}`;
  const operations: Operation[] = [rowExists("Bridge", bridgeId)];
  const added: string[] = [];
  const newPorts: Uuid[] = [];
  for (const spec of specs) {
    const id = existing.get(spec.name);
    if (id !== undefined) {
      if (spec.mayExist && onBridge.has(id)) continue;
      throw new OvsAlreadyExistsError(
        "port",
        spec.name,
        onBridge.has(id) ? `on bridge ${bridge}` : "on another bridge",
      );
    }
    const { ops, port } = portRows(ctx, spec);
    operations.push(...ops);
    newPorts.push(port);
    added.push(spec.name);
  }
  if (newPorts.length === 0) return { description, operations: [], inverse: [], result: [] };
  operations.push({
    op: "mutate",
    table: "Bridge",
    where: [["_uuid", "==", bridgeId]],
    mutations: [["ports", "insert", set(newPorts)]],
  });
  const inverse: Operation[] = [
    {
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", bridgeId]],
      mutations: [["ports", "delete", set(newPorts)]],
    },
  ];
  return { description, operations, inverse, result: added };
}

const MIRROR_PORT_SETS = ["select_src_port", "select_dst_port"] as const;

/** Removes ports (wherever they are, or only from `bridge` when given) in one transaction; the result is the names removed. */
export async function buildDeletePorts(
  ctx: VswitchContext,
  names: readonly string[],
  options: { ifExists?: boolean; bridge?: string } = {},
): Promise<OvsChange<string[]>> {
  for (const [i, name] of names.entries())
    parseInput(interfaceName, name, names.length === 1 ? "port" : `ports.${i}`);
  if (options.bridge !== undefined) parseInput(interfaceName, options.bridge, "bridge");
  const [bridges, ports, interfaces, mirrors] = await ctx.selectMany([
    {
      table: "Bridge",
      where: options.bridge ? [["name", "==", options.bridge]] : [],
      columns: ["_uuid", "name", "ports", "mirrors"],
    },
    {
      table: "Port",
      where: names.length === 1 ? [["name", "==", names[0] ?? ""]] : [],
      columns: await ctx.configColumns("Port"),
    },
    { table: "Interface", where: [], columns: await ctx.configColumns("Interface") },
    { table: "Mirror", where: [], columns: ["_uuid", "select_src_port", "select_dst_port", "output_port"] },
  ]);
  if (options.bridge && !bridges?.[0]) throw new OvsNotFoundError("bridge", options.bridge);
  const portByName = new Map((ports ?? []).map((row: Row) => [String(row.name), row]));
  const ifaceById = new Map((interfaces ?? []).map((row: Row) => [uuidOf(row._uuid) ?? "", row]));
  const bridgeOf = new Map<string, Row>();
  for (const row of bridges ?? []) for (const id of uuidsOf(row.ports)) bridgeOf.set(id, row);

  const removals = new Map<Row, Uuid[]>();
  const removed: string[] = [];
  const restore: Operation[] = [];
  const removedIds = new Set<string>();
  for (const name of names) {
    const port = portByName.get(name);
    const id = port ? uuidOf(port._uuid) : undefined;
    const bridgeRow = id ? bridgeOf.get(id) : undefined;
    if (!port || !id || !bridgeRow) {
      if (options.ifExists) continue;
      throw new OvsNotFoundError(options.bridge ? `port on bridge ${options.bridge}` : "port", name);
    }
    const list = removals.get(bridgeRow) ?? [];
    list.push(uuid(id));
    removals.set(bridgeRow, list);
    removed.push(name);
    removedIds.add(id);
    for (const ifaceId of uuidsOf(port.interfaces)) {
      const iface = ifaceById.get(ifaceId);
      if (iface) restore.push(restoreInsert("Interface", iface));
    }
    restore.push(restoreInsert("Port", port));
  }
  const description = `delete ${names.length === 1 ? `port ${names[0]}` : `${removed.length} ports`}`;
  if (removed.length === 0) return { description, operations: [], inverse: [], result: [] };
  const operations: Operation[] = [];
  for (const [bridgeRow, ids] of removals) {
    const where: [string, "==", Uuid][] = [["_uuid", "==", bridgeRow._uuid as Uuid]];
    operations.push({ op: "mutate", table: "Bridge", where, mutations: [["ports", "delete", set(ids)]] });
    restore.push({ op: "mutate", table: "Bridge", where, mutations: [["ports", "insert", set(ids)]] });
  }
  // Mirrors hold weak references to ports: OVSDB drops them with the port, the inverse puts them back.
  for (const mirror of mirrors ?? []) {
    const where: [string, "==", Uuid][] = [["_uuid", "==", mirror._uuid as Uuid]];
    for (const column of MIRROR_PORT_SETS) {
      const back = uuidsOf(mirror[column]).filter((id) => removedIds.has(id));
      if (back.length > 0)
        restore.push({
          op: "mutate",
          table: "Mirror",
          where,
          mutations: [[column, "insert", set(back.map(uuid))]],
        });
    }
    const output = uuidsOf(mirror.output_port)[0];
    if (output && removedIds.has(output))
      restore.push({ op: "update", table: "Mirror", where, row: { output_port: uuid(output) } });
  }
  return { description, operations, inverse: restore, result: removed };
}

/** Moves a port (with its settings) to another bridge in one transaction. */
export async function buildMovePort(ctx: VswitchContext, name: string, toBridge: string): Promise<OvsChange> {
  parseInput(interfaceName, name, "port");
  parseInput(interfaceName, toBridge, "bridge");
  const [ports, targets] = await ctx.selectMany([
    { table: "Port", where: [["name", "==", name]], columns: ["_uuid"] },
    { table: "Bridge", where: [["name", "==", toBridge]], columns: ["_uuid"] },
  ]);
  const portId = ports?.[0]?._uuid as Uuid | undefined;
  if (!portId) throw new OvsNotFoundError("port", name);
  const target = targets?.[0]?._uuid as Uuid | undefined;
  if (!target) throw new OvsNotFoundError("bridge", toBridge);
  const sources = await ctx.select("Bridge", [["ports", "includes", portId]], ["_uuid", "name"]);
  const operations: Operation[] = [rowExists("Bridge", target)];
  const inverse: Operation[] = [
    {
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", target]],
      mutations: [["ports", "delete", set([portId])]],
    },
  ];
  for (const source of sources) {
    const where: [string, "==", Uuid][] = [["_uuid", "==", source._uuid as Uuid]];
    operations.push({
      op: "mutate",
      table: "Bridge",
      where,
      mutations: [["ports", "delete", set([portId])]],
    });
    inverse.push({ op: "mutate", table: "Bridge", where, mutations: [["ports", "insert", set([portId])]] });
  }
  operations.push({
    op: "mutate",
    table: "Bridge",
    where: [["_uuid", "==", target]],
    mutations: [["ports", "insert", set([portId])]],
  });
  return { description: `move port ${name} to ${toBridge}`, operations, inverse, result: undefined };
}

/** Sets a port's access VLAN, or removes it (tag undefined). */
export async function buildSetPortTag(
  ctx: VswitchContext,
  name: string,
  tag: number | undefined,
): Promise<OvsChange> {
  parseInput(interfaceName, name, "port");
  if (tag !== undefined) parseInput(vlanId, tag, "tag");
  const [row] = await ctx.select("Port", [["name", "==", name]], ["_uuid", "tag"]);
  if (!row) throw new OvsNotFoundError("port", name);
  const where: [string, "==", Uuid][] = [["_uuid", "==", row._uuid as Uuid]];
  return {
    description: `set tag of port ${name} to ${tag ?? "none"}`,
    operations: [
      rowExists("Port", row._uuid as Uuid),
      { op: "update", table: "Port", where, row: { tag: tag === undefined ? emptySet() : tag } },
    ],
    inverse: [{ op: "update", table: "Port", where, row: { tag: row.tag ?? emptySet() } }],
    result: undefined,
  };
}
