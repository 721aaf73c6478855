// Port rows (each with one Interface): add, bulk add, delete, bulk delete, move, retag. Bulk forms
// put every port in one transaction: OVSDB commits it once and ovs-vswitchd reconfigures once,
// which is where the speed over one ovs-vsctl per port comes from.
import { OvsAlreadyExistsError, OvsInputError, OvsNotFoundError, parseInput } from "../errors.js";
import {
  emptySet,
  map,
  namedUuid,
  type Operation,
  type Row,
  set,
  type Uuid,
  uuid,
  uuidOf,
  uuidsOf,
} from "../ovsdb/operations.js";
import type { DeleteOptions } from "./bridge.js";
import type { VswitchContext, WriteOptions } from "./context.js";
import { interfaceName, type PortSpec, portSpec, vlanId } from "./inputs.js";

type ParsedPort = ReturnType<typeof portSpec.parse>;

function portRows(ctx: VswitchContext, spec: ParsedPort, index: number): { ops: Operation[]; ref: string } {
  const externalIds = map(ctx.externalIds(spec.externalIds));
  const ifaceRef = `iface${index}`;
  const portRef = `port${index}`;
  const ops: Operation[] = [
    {
      op: "insert",
      table: "Interface",
      "uuid-name": ifaceRef,
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
      "uuid-name": portRef,
      row: {
        name: spec.name,
        interfaces: namedUuid(ifaceRef),
        external_ids: externalIds,
        ...(spec.tag !== undefined ? { tag: spec.tag } : {}),
        ...(spec.trunks ? { trunks: set(spec.trunks) } : {}),
        ...(spec.vlanMode ? { vlan_mode: spec.vlanMode } : {}),
        ...(spec.cvlans ? { cvlans: set(spec.cvlans) } : {}),
        ...(spec.otherConfig ? { other_config: map(spec.otherConfig) } : {}),
      },
    },
  ];
  return { ops, ref: portRef };
}

const bridgeExists = (id: Uuid, name: string): Operation => ({
  op: "wait",
  table: "Bridge",
  where: [["_uuid", "==", id]],
  columns: ["name"],
  until: "==",
  rows: [{ name }],
  timeout: 0,
});

/** Adds ports to a bridge in one transaction; returns the new ports' names (existing mayExist ones excluded). */
export async function addPorts(
  ctx: VswitchContext,
  bridge: string,
  inputs: readonly PortSpec[],
  options: WriteOptions = {},
): Promise<string[]> {
  parseInput(interfaceName, bridge, "bridge");
  const specs = inputs.map((input, i) =>
    parseInput(portSpec, input, inputs.length === 1 ? "port" : `ports.${i}`),
  );
  const seen = new Set<string>();
  for (const [i, spec] of specs.entries()) {
    if (seen.has(spec.name))
      throw new OvsInputError(`ports.${i}.name "${spec.name}" appears twice`, `ports.${i}.name`);
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

  const operations: Operation[] = [bridgeExists(bridgeId, bridge)];
  const refs: string[] = [];
  const added: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const id = existing.get(spec.name);
    if (id !== undefined) {
      if (spec.mayExist && onBridge.has(id)) continue;
      throw new OvsAlreadyExistsError(
        "port",
        spec.name,
        onBridge.has(id) ? `on bridge ${bridge}` : "on another bridge",
      );
    }
    const { ops, ref } = portRows(ctx, spec, i);
    operations.push(...ops);
    refs.push(ref);
    added.push(spec.name);
  }
  if (refs.length === 0) return [];
  operations.push({
    op: "mutate",
    table: "Bridge",
    where: [["_uuid", "==", bridgeId]],
    mutations: [["ports", "insert", set(refs.map(namedUuid))]],
  });
  await ctx.commit(operations, options);
  return added;
}

/** Removes ports (wherever they are, or only from `bridge` when given) in one transaction. */
export async function deletePorts(
  ctx: VswitchContext,
  names: readonly string[],
  options: DeleteOptions & { bridge?: string } = {},
): Promise<string[]> {
  for (const [i, name] of names.entries())
    parseInput(interfaceName, name, names.length === 1 ? "port" : `ports.${i}`);
  const portWhere = names.length === 1 ? [["name", "==", names[0] ?? ""] as ["name", "==", string]] : [];
  const [bridges, ports] = await ctx.selectMany([
    {
      table: "Bridge",
      where: options.bridge ? [["name", "==", options.bridge]] : [],
      columns: ["_uuid", "name", "ports"],
    },
    { table: "Port", where: portWhere, columns: ["_uuid", "name"] },
  ]);
  if (options.bridge && !bridges?.[0]) throw new OvsNotFoundError("bridge", options.bridge);
  const portId = new Map((ports ?? []).map((row: Row) => [String(row.name), uuidOf(row._uuid) ?? ""]));
  const bridgeOf = new Map<string, Row>();
  for (const row of bridges ?? []) for (const id of uuidsOf(row.ports)) bridgeOf.set(id, row);

  const removals = new Map<Row, Uuid[]>();
  const removed: string[] = [];
  for (const name of names) {
    const id = portId.get(name);
    const bridgeRow = id ? bridgeOf.get(id) : undefined;
    if (!id || !bridgeRow) {
      if (options.ifExists) continue;
      throw new OvsNotFoundError(options.bridge ? `port on bridge ${options.bridge}` : "port", name);
    }
    const list = removals.get(bridgeRow) ?? [];
    list.push(uuid(id));
    removals.set(bridgeRow, list);
    removed.push(name);
  }
  if (removed.length === 0) return [];
  const operations: Operation[] = [];
  for (const [bridgeRow, ids] of removals) {
    operations.push({
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", bridgeRow._uuid as Uuid]],
      mutations: [["ports", "delete", set(ids)]],
    });
  }
  await ctx.commit(operations, options);
  return removed;
}

/** Moves a port (with its settings) to another bridge in one transaction. */
export async function movePort(
  ctx: VswitchContext,
  name: string,
  toBridge: string,
  options: WriteOptions = {},
): Promise<void> {
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
  const operations: Operation[] = [bridgeExists(target, toBridge)];
  for (const source of sources) {
    operations.push({
      op: "mutate",
      table: "Bridge",
      where: [["_uuid", "==", source._uuid as Uuid]],
      mutations: [["ports", "delete", set([portId])]],
    });
  }
  operations.push({
    op: "mutate",
    table: "Bridge",
    where: [["_uuid", "==", target]],
    mutations: [["ports", "insert", set([portId])]],
  });
  await ctx.commit(operations, options);
}

/** Sets a port's access VLAN, or removes it (tag undefined). */
export async function setPortTag(
  ctx: VswitchContext,
  name: string,
  tag: number | undefined,
  options: WriteOptions = {},
): Promise<void> {
  parseInput(interfaceName, name, "port");
  if (tag !== undefined) parseInput(vlanId, tag, "tag");
  await updatePort(ctx, name, { tag: tag === undefined ? emptySet() : tag }, options);
}

/** Updates columns of a Port row named `name`; throws OvsNotFoundError when there is none. */
export async function updatePort(
  ctx: VswitchContext,
  name: string,
  row: Row,
  options: WriteOptions = {},
): Promise<void> {
  const [result] = await ctx.commit(
    [{ op: "update", table: "Port", where: [["name", "==", name]], row }],
    options,
  );
  if (result?.count !== 1) throw new OvsNotFoundError("port", name);
}
