// The OVSDB wire vocabulary (RFC 7047 §5): atoms, sets, maps, rows, conditions, mutations and the
// transaction operations, with small builders and decoders so callers never hand-write
// ["set", [...]] or ["map", [[k, v]...]].
import { z } from "zod";

export type Uuid = ["uuid", string];
export type NamedUuid = ["named-uuid", string];
export type Atom = string | number | boolean | Uuid | NamedUuid;
export type OvsdbSet = ["set", Atom[]];
export type OvsdbMap = ["map", [Atom, Atom][]];
/** A column value on the wire: an atom, a set or a map. */
export type Value = Atom | OvsdbSet | OvsdbMap;
export type Row = Record<string, Value>;

export type ConditionFunction = "<" | "<=" | "==" | "!=" | ">=" | ">" | "includes" | "excludes";
export type Condition = [column: string, fn: ConditionFunction, value: Value];
export type Mutator = "+=" | "-=" | "*=" | "/=" | "%=" | "insert" | "delete";
export type Mutation = [column: string, mutator: Mutator, value: Value];

export interface InsertOp {
  op: "insert";
  table: string;
  row: Row;
  "uuid-name"?: string;
  uuid?: string;
}
export interface SelectOp {
  op: "select";
  table: string;
  where: Condition[];
  columns?: string[];
}
export interface UpdateOp {
  op: "update";
  table: string;
  where: Condition[];
  row: Row;
}
export interface MutateOp {
  op: "mutate";
  table: string;
  where: Condition[];
  mutations: Mutation[];
}
export interface DeleteOp {
  op: "delete";
  table: string;
  where: Condition[];
}
export interface WaitOp {
  op: "wait";
  table: string;
  where: Condition[];
  columns: string[];
  until: "==" | "!=";
  rows: Row[];
  timeout?: number;
}
export interface CommitOp {
  op: "commit";
  durable: boolean;
}
export interface AbortOp {
  op: "abort";
}
export interface CommentOp {
  op: "comment";
  comment: string;
}
export interface AssertOp {
  op: "assert";
  lock: string;
}
export type Operation =
  | InsertOp
  | SelectOp
  | UpdateOp
  | MutateOp
  | DeleteOp
  | WaitOp
  | CommitOp
  | AbortOp
  | CommentOp
  | AssertOp;

/** One operation's result as ovsdb-server sends it. */
export const operationResultSchema = z
  .object({
    uuid: z.tuple([z.literal("uuid"), z.string()]).optional(),
    rows: z.array(z.record(z.string(), z.unknown())).optional(),
    count: z.number().optional(),
    error: z.string().optional(),
    details: z.string().optional(),
  })
  .loose();
export type OperationResult = z.infer<typeof operationResultSchema>;

/** A transact reply: one entry per operation, plus one more when the commit itself failed. */
export const transactReplySchema = z.array(z.union([operationResultSchema, z.null()]));

// ---- builders ----

export const uuid = (id: string): Uuid => ["uuid", id];
export const namedUuid = (name: string): NamedUuid => ["named-uuid", name];
export const set = (atoms: readonly Atom[]): OvsdbSet => ["set", [...atoms]];
export const emptySet = (): OvsdbSet => ["set", []];
export function map(entries: Readonly<Record<string, string>> | Iterable<readonly [Atom, Atom]>): OvsdbMap {
  const pairs: [Atom, Atom][] = [];
  const iterable =
    Symbol.iterator in Object(entries)
      ? (entries as Iterable<readonly [Atom, Atom]>)
      : Object.entries(entries);
  for (const [k, v] of iterable) pairs.push([k, v]);
  return ["map", pairs];
}

// ---- decoders (for values read back from the server) ----

function isTagged(value: unknown, tag: string): value is [string, unknown] {
  return Array.isArray(value) && value.length === 2 && value[0] === tag;
}

/** The atoms of a set column (a lone atom is a one-element set on the wire). */
export function atomsOf(value: unknown): Atom[] {
  if (value === undefined) return [];
  if (isTagged(value, "set")) return value[1] as Atom[];
  return [value as Atom];
}

/** A map column as a plain string-keyed record (OVS's maps here are string→string). */
export function recordOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isTagged(value, "map")) return out;
  for (const [k, v] of value[1] as [Atom, Atom][]) out[String(k)] = String(v);
  return out;
}

/** The uuid string of a ["uuid", id] atom, or undefined. */
export function uuidOf(value: unknown): string | undefined {
  return isTagged(value, "uuid") ? (value[1] as string) : undefined;
}

/** The uuids in a set-of-uuid column. */
export function uuidsOf(value: unknown): string[] {
  return atomsOf(value)
    .map((atom) => uuidOf(atom))
    .filter((id): id is string => id !== undefined);
}

/** The single value of an optional (0..1) column, or undefined when empty. */
export function optionalOf(value: unknown): Atom | undefined {
  const atoms = atomsOf(value);
  return atoms[0];
}

/** Stable identity of an atom for comparisons (uuids compare by id). */
export function atomKey(atom: Atom): string {
  return typeof atom === "object" ? `${atom[0]}:${atom[1]}` : `${typeof atom}:${String(atom)}`;
}
