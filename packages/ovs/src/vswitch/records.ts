// Reading the switch configuration back as typed records. One transaction of selects gives a
// consistent snapshot (OVSDB transactions are serialised), joined by uuid into names.
import type { OvsdbClient } from "../ovsdb/client.js";
import {
  atomsOf,
  type Operation,
  optionalOf,
  type Row,
  recordOf,
  uuidOf,
  uuidsOf,
} from "../ovsdb/operations.js";

export interface InterfaceInfo {
  uuid: string;
  name: string;
  type: string;
  options: Record<string, string>;
  ofport: number | undefined;
  linkState: string | undefined;
  adminState: string | undefined;
  macInUse: string | undefined;
  error: string | undefined;
  statistics: Record<string, number>;
  externalIds: Record<string, string>;
}

export interface PortInfo {
  uuid: string;
  name: string;
  /** The bridge holding the port (undefined only in a transient state). */
  bridge: string | undefined;
  tag: number | undefined;
  trunks: number[];
  vlanMode: string | undefined;
  cvlans: number[];
  interfaces: InterfaceInfo[];
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
}

export interface NetflowInfo {
  uuid: string;
  targets: string[];
  activeTimeout: number;
  engineType: number | undefined;
  engineId: number | undefined;
  addIdToInterface: boolean;
  externalIds: Record<string, string>;
}

export interface MirrorInfo {
  uuid: string;
  name: string;
  bridge: string | undefined;
  selectAll: boolean;
  selectSrcPorts: string[];
  selectDstPorts: string[];
  selectVlans: number[];
  outputPort: string | undefined;
  outputVlan: number | undefined;
  statistics: Record<string, number>;
  externalIds: Record<string, string>;
}

export interface BridgeInfo {
  uuid: string;
  name: string;
  datapathType: string;
  failMode: string | undefined;
  /** Port names, sorted. */
  ports: string[];
  /** Mirror names, sorted. */
  mirrors: string[];
  netflow: NetflowInfo | undefined;
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
}

export interface SwitchSnapshot {
  bridges: BridgeInfo[];
  ports: PortInfo[];
  interfaces: InterfaceInfo[];
  mirrors: MirrorInfo[];
}

const num = (value: unknown): number | undefined => {
  const atom = optionalOf(value);
  return typeof atom === "number" ? atom : undefined;
};
const str = (value: unknown): string | undefined => {
  const atom = optionalOf(value);
  return typeof atom === "string" ? atom : undefined;
};
const numbers = (value: unknown): number[] =>
  atomsOf(value)
    .filter((a): a is number => typeof a === "number")
    .sort((a, b) => a - b);
function numberRecord(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(recordOf(value))) out[k] = Number(v);
  return out;
}
const idOf = (row: Row): string => uuidOf(row._uuid) ?? "";

export function decodeInterface(row: Row): InterfaceInfo {
  return {
    uuid: idOf(row),
    name: String(row.name ?? ""),
    type: String(row.type ?? ""),
    options: recordOf(row.options),
    ofport: num(row.ofport),
    linkState: str(row.link_state),
    adminState: str(row.admin_state),
    macInUse: str(row.mac_in_use),
    error: str(row.error),
    statistics: numberRecord(row.statistics),
    externalIds: recordOf(row.external_ids),
  };
}

export function decodeNetflow(row: Row): NetflowInfo {
  return {
    uuid: idOf(row),
    targets: atomsOf(row.targets).map(String).sort(),
    activeTimeout: typeof row.active_timeout === "number" ? row.active_timeout : 0,
    engineType: num(row.engine_type),
    engineId: num(row.engine_id),
    addIdToInterface: row.add_id_to_interface === true,
    externalIds: recordOf(row.external_ids),
  };
}

const selectAll = (table: string): Operation => ({ op: "select", table, where: [] });

/** Reads bridges, ports, interfaces, mirrors and NetFlow in one consistent snapshot. */
export async function readSnapshot(client: OvsdbClient): Promise<SwitchSnapshot> {
  const [bridges, ports, interfaces, mirrors, netflows] = (
    await client.transact(["Bridge", "Port", "Interface", "Mirror", "NetFlow"].map(selectAll))
  ).map((r) => (r.rows ?? []) as Row[]) as [Row[], Row[], Row[], Row[], Row[]];

  const ifaceById = new Map(interfaces.map((row) => [idOf(row), decodeInterface(row)]));
  const netflowById = new Map(netflows.map((row) => [idOf(row), decodeNetflow(row)]));
  const portNameById = new Map(ports.map((row) => [idOf(row), String(row.name)]));
  const bridgeOfPort = new Map<string, string>();
  const bridgeOfMirror = new Map<string, string>();
  for (const row of bridges) {
    for (const id of uuidsOf(row.ports)) bridgeOfPort.set(id, String(row.name));
    for (const id of uuidsOf(row.mirrors)) bridgeOfMirror.set(id, String(row.name));
  }
  const portNames = (value: unknown) =>
    uuidsOf(value)
      .map((id) => portNameById.get(id))
      .filter((n): n is string => n !== undefined)
      .sort();

  const mirrorInfos: MirrorInfo[] = mirrors.map((row) => {
    const output = uuidsOf(row.output_port)[0];
    return {
      uuid: idOf(row),
      name: String(row.name ?? ""),
      bridge: bridgeOfMirror.get(idOf(row)),
      selectAll: row.select_all === true,
      selectSrcPorts: portNames(row.select_src_port),
      selectDstPorts: portNames(row.select_dst_port),
      selectVlans: numbers(row.select_vlan),
      outputPort: output ? portNameById.get(output) : undefined,
      outputVlan: num(row.output_vlan),
      statistics: numberRecord(row.statistics),
      externalIds: recordOf(row.external_ids),
    };
  });
  const mirrorNameById = new Map(mirrorInfos.map((m) => [m.uuid, m.name]));

  const portInfos: PortInfo[] = ports.map((row) => ({
    uuid: idOf(row),
    name: String(row.name ?? ""),
    bridge: bridgeOfPort.get(idOf(row)),
    tag: num(row.tag),
    trunks: numbers(row.trunks),
    vlanMode: str(row.vlan_mode),
    cvlans: numbers(row.cvlans),
    interfaces: uuidsOf(row.interfaces)
      .map((id) => ifaceById.get(id))
      .filter((i): i is InterfaceInfo => i !== undefined),
    otherConfig: recordOf(row.other_config),
    externalIds: recordOf(row.external_ids),
  }));

  const bridgeInfos: BridgeInfo[] = bridges.map((row) => {
    const netflowId = uuidsOf(row.netflow)[0];
    return {
      uuid: idOf(row),
      name: String(row.name ?? ""),
      datapathType: String(row.datapath_type ?? ""),
      failMode: str(row.fail_mode),
      ports: portNames(row.ports),
      mirrors: uuidsOf(row.mirrors)
        .map((id) => mirrorNameById.get(id))
        .filter((n): n is string => n !== undefined)
        .sort(),
      netflow: netflowId ? netflowById.get(netflowId) : undefined,
      otherConfig: recordOf(row.other_config),
      externalIds: recordOf(row.external_ids),
    };
  });
  const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
  return {
    bridges: bridgeInfos.sort(byName),
    ports: portInfos.sort(byName),
    interfaces: [...ifaceById.values()].sort(byName),
    mirrors: mirrorInfos.sort(byName),
  };
}
