// A change to the switch as data: the OVSDB operations that make it and the operations that undo
// it (computed from the rows read before). Changes can be put together into one transaction, and
// their inverses, in reverse order, make one transaction that restores what was there: the unit
// the composition layer journals ("one OVSDB transaction = one step whose undo is the inverse").
//
// Rows a change inserts get their uuid here (OVSDB's insert takes a given "uuid"), so the inverse
// can name them before anything is committed, and changes never collide on uuid-names.
import { randomUUID } from "node:crypto";
import { OvsError } from "../errors.js";
import type { Mutation, Operation, Row, Uuid, Value } from "../ovsdb/operations.js";
import { atomsOf, recordOf } from "../ovsdb/operations.js";

/** Operations that make a change, operations that undo it, and what the change yields. */
export interface OvsChange<T = void> {
  /** What this change does, in a few words (for logs and step names). */
  readonly description: string;
  readonly operations: readonly Operation[];
  /** Undoes `operations` when run (as one transaction) right after them. */
  readonly inverse: readonly Operation[];
  /** What the typed method returns (a uuid, the names added...). */
  readonly result: T;
}

/**
 * Several changes as one: their operations in order, their inverses in reverse order. Commit
 * `operations` as one transaction; `inverse` as one transaction undoes all of them.
 */
export function combineChanges(changes: readonly OvsChange<unknown>[]): OvsChange<unknown[]> {
  return {
    description: changes.map((c) => c.description).join("; "),
    operations: changes.flatMap((c) => c.operations),
    inverse: [...changes].reverse().flatMap((c) => c.inverse),
    result: changes.map((c) => c.result),
  };
}

/** A fresh row uuid for an insert, as the ["uuid", id] value that references it. */
export function newRowUuid(): Uuid {
  return ["uuid", randomUUID()];
}

/** Columns of each table that carry configuration (written by clients, not by ovs-vswitchd). */
export const CONFIG_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  Bridge: [
    "name",
    "datapath_type",
    "fail_mode",
    "other_config",
    "external_ids",
    "protocols",
    "stp_enable",
    "rstp_enable",
    "mcast_snooping_enable",
    "flood_vlans",
    "ports",
    "mirrors",
    "netflow",
  ],
  Port: [
    "name",
    "interfaces",
    "tag",
    "trunks",
    "vlan_mode",
    "cvlans",
    "other_config",
    "external_ids",
    "bond_mode",
    "lacp",
    "bond_updelay",
    "bond_downdelay",
    "bond_fake_iface",
    "fake_bridge",
    "protected",
    "mac",
  ],
  Interface: [
    "name",
    "type",
    "options",
    "ofport_request",
    "mtu_request",
    "other_config",
    "external_ids",
    "ingress_policing_rate",
    "ingress_policing_burst",
    "mac",
    "bfd",
    "lldp",
  ],
  Mirror: [
    "name",
    "select_all",
    "select_src_port",
    "select_dst_port",
    "select_vlan",
    "output_port",
    "output_vlan",
    "snaplen",
    "external_ids",
  ],
  NetFlow: ["targets", "active_timeout", "engine_type", "engine_id", "add_id_to_interface", "external_ids"],
};

/**
 * References to rows this package does not rebuild (QoS, controllers, sFlow, IPFIX...): an
 * inverse that dropped them would not restore what was there, so a change refuses instead.
 */
export const FOREIGN_REFERENCES: Readonly<Record<string, readonly string[]>> = {
  Bridge: ["controller", "sflow", "ipfix", "auto_attach"],
  Port: ["qos"],
  Interface: [],
  Mirror: [],
  NetFlow: [],
};

/** The insert that recreates `row` (as selected with all columns) under its old uuid. */
export function restoreInsert(table: string, row: Row): Operation {
  for (const column of FOREIGN_REFERENCES[table] ?? []) {
    if (atomsOf(row[column]).length > 0)
      throw new OvsError(
        `${table} row ${String((row._uuid as Uuid | undefined)?.[1])} references ${column}, which the inverse of this change cannot restore`,
      );
  }
  const restored: Row = {};
  for (const column of CONFIG_COLUMNS[table] ?? []) {
    const value = row[column];
    if (value !== undefined) restored[column] = value;
  }
  return { op: "insert", table, uuid: (row._uuid as Uuid)[1], row: restored };
}

/** Mutations that put a map column back as it was for `keys` (removed, or restored to old values). */
export function restoreMapKeys(
  column: string,
  before: Value | undefined,
  keys: readonly string[],
): Mutation[] {
  const old = recordOf(before);
  const restored: [string, string][] = keys.filter((k) => k in old).map((k) => [k, old[k] as string]);
  return [
    [column, "delete", ["set", [...keys]]],
    [column, "insert", ["map", restored]],
  ];
}
