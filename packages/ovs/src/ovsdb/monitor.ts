// A monitor-fed replica of some tables (the libovsdb / ovs.db.idl model): the server sends the
// initial rows and then every change, so reads of monitored data need no round trip and cannot
// drift. Both notification forms are applied: "update" (full new rows) and "update2" (diffs, for
// monitor_cond), whose set and map diffs toggle elements as ovsdb-server(7) describes.
import { EventEmitter } from "node:events";
import { z } from "zod";
import { describeZodError } from "../zod-error.js";
import { type Atom, atomKey, atomsOf, type Condition, type Row, type Value } from "./operations.js";
import type { DatabaseSchema } from "./schema.js";

export interface MonitorSelect {
  initial?: boolean;
  insert?: boolean;
  delete?: boolean;
  modify?: boolean;
}

/** What to monitor in one table: columns (default: all) and, with monitor_cond, a condition. */
export interface MonitorRequest {
  columns?: string[];
  /** Only with `conditional: true` (monitor_cond): rows matching all of these. */
  where?: Condition[];
  select?: MonitorSelect;
}

export type MonitorRequests = Record<string, MonitorRequest>;

/** One row's change: `old` absent for an insert, `new` absent for a delete. */
export interface RowChange {
  table: string;
  uuid: string;
  old?: Row;
  new?: Row;
}

export interface OvsdbMonitorEvents {
  change: [changes: RowChange[]];
}

const rowSchema = z.record(z.string(), z.unknown());
/** An "update" payload (RFC 7047 §4.1.6): table → uuid → { old?, new? }. */
const tableUpdatesSchema = z.record(
  z.string(),
  z.record(z.string(), z.object({ old: rowSchema.optional(), new: rowSchema.optional() }).loose()),
);
/** An "update2" payload (ovsdb-server(7)): table → uuid → exactly one of initial/insert/delete/modify. */
const tableUpdates2Schema = z.record(
  z.string(),
  z.record(
    z.string(),
    z.union([
      z.object({ initial: rowSchema }).strict(),
      z.object({ insert: rowSchema }).strict(),
      z.object({ delete: z.null() }).strict(),
      z.object({ modify: rowSchema }).strict(),
    ]),
  ),
);
type TableUpdates = Record<string, Record<string, Record<string, unknown>>>;

/**
 * Checks that a monitor reply or update notification has the shape OVSDB defines. Returns a
 * one-sentence description of the first problem, or undefined when it is well formed, so that
 * the client can turn bad server input into a typed error instead of a crash.
 */
export function checkTableUpdates(updates: unknown, form: 1 | 2, what: string): string | undefined {
  const result = (form === 1 ? tableUpdatesSchema : tableUpdates2Schema).safeParse(updates);
  if (result.success) return undefined;
  const { field, reason } = describeZodError(result.error, what);
  return `${field} ${reason}`;
}

export class OvsdbMonitor extends EventEmitter<OvsdbMonitorEvents> {
  private readonly tables = new Map<string, Map<string, Row>>();
  /** Set by the client: cancels on the server and forgets this monitor. */
  cancelHook: (() => Promise<void>) | undefined;

  constructor(
    /** The JSON value that names this monitor in notifications. */
    readonly id: string,
    readonly database: string,
    readonly requests: MonitorRequests,
    readonly conditional: boolean,
    private readonly schema: DatabaseSchema,
  ) {
    super();
    for (const table of Object.keys(requests)) this.tables.set(table, new Map());
  }

  /** The replica of one table: uuid → row (update2 leaves out columns that hold their default). */
  rows(table: string): ReadonlyMap<string, Row> {
    return this.tables.get(table) ?? new Map();
  }

  row(table: string, uuid: string): Row | undefined {
    return this.tables.get(table)?.get(uuid);
  }

  /** Stops the monitor on the server; the replica stays as it was. */
  async cancel(): Promise<void> {
    await this.cancelHook?.();
  }

  /** Replaces the replica with a fresh initial state (after a reconnect), emitting the difference. */
  reset(initial: unknown, form: 1 | 2): void {
    const before = new Map([...this.tables].map(([t, rows]) => [t, new Map(rows)]));
    for (const rows of this.tables.values()) rows.clear();
    this.apply(initial, form, false);
    const changes: RowChange[] = [];
    for (const [table, rows] of this.tables) {
      const old = before.get(table) ?? new Map<string, Row>();
      for (const [uuid, row] of rows) {
        const prev = old.get(uuid);
        if (!prev) changes.push({ table, uuid, new: row });
        else if (JSON.stringify(prev) !== JSON.stringify(row))
          changes.push({ table, uuid, old: prev, new: row });
      }
      for (const [uuid, row] of old) if (!rows.has(uuid)) changes.push({ table, uuid, old: row });
    }
    if (changes.length > 0) this.emit("change", changes);
  }

  /** Applies an update / update2 payload (checked beforehand with checkTableUpdates). */
  apply(updates: unknown, form: 1 | 2, emit = true): void {
    if (!updates || typeof updates !== "object") return;
    const changes: RowChange[] = [];
    for (const [table, rowUpdates] of Object.entries(updates as TableUpdates)) {
      let rows = this.tables.get(table);
      if (!rows) {
        rows = new Map();
        this.tables.set(table, rows);
      }
      for (const [uuid, update] of Object.entries(rowUpdates)) {
        const old = rows.get(uuid);
        let next: Row | undefined;
        if (form === 1) {
          next = update.new as Row | undefined;
        } else if ("initial" in update) next = update.initial as Row;
        else if ("insert" in update) next = update.insert as Row;
        else if ("delete" in update) next = undefined;
        else if ("modify" in update) next = this.applyDiff(table, old ?? {}, update.modify as Row);
        else continue;
        if (next) rows.set(uuid, next);
        else rows.delete(uuid);
        changes.push({ table, uuid, ...(old ? { old } : {}), ...(next ? { new: next } : {}) });
      }
    }
    if (emit && changes.length > 0) this.emit("change", changes);
  }

  private applyDiff(table: string, old: Row, diff: Row): Row {
    const row: Row = { ...old };
    for (const [column, change] of Object.entries(diff)) {
      const kind = this.schema.hasTable(table) ? this.schema.columnKind(table, column) : "scalar";
      if (kind === "scalar") row[column] = change;
      else if (kind === "set") row[column] = toggle(row[column], change);
      else row[column] = patchMap(row[column], change);
    }
    return row;
  }
}

function toggle(current: Value | undefined, diff: Value): Value {
  const elements = new Map<string, Atom>(atomsOf(current).map((a) => [atomKey(a), a]));
  for (const atom of atomsOf(diff)) {
    const key = atomKey(atom);
    if (elements.has(key)) elements.delete(key);
    else elements.set(key, atom);
  }
  return ["set", [...elements.values()]];
}

function pairsOf(value: Value | undefined): [Atom, Atom][] {
  return Array.isArray(value) && value[0] === "map" ? (value[1] as [Atom, Atom][]) : [];
}

function patchMap(current: Value | undefined, diff: Value): Value {
  const entries = new Map<string, [Atom, Atom]>(pairsOf(current).map((p) => [atomKey(p[0]), p]));
  for (const [k, v] of pairsOf(diff)) {
    const key = atomKey(k);
    const existing = entries.get(key);
    // Same key and value: the key was removed; different value: changed; absent: added.
    if (existing && atomKey(existing[1]) === atomKey(v)) entries.delete(key);
    else entries.set(key, [k, v]);
  }
  return ["map", [...entries.values()]];
}
