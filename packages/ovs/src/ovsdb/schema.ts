// A database schema (RFC 7047 §3.2) as fetched with get_schema: used to refuse unknown tables and
// columns before anything is sent, and to know each column's kind, which update2 diffs need
// (a set diff toggles elements, a scalar diff replaces the value).
import { z } from "zod";
import { OvsdbSchemaError } from "./errors.js";
import type { Condition, Operation, Row } from "./operations.js";

const baseTypeSchema = z.union([z.string(), z.object({ type: z.string() }).loose()]);
const columnTypeSchema = z.union([
  z.string(),
  z
    .object({
      key: baseTypeSchema,
      value: baseTypeSchema.optional(),
      min: z.number().optional(),
      max: z.union([z.number(), z.literal("unlimited")]).optional(),
    })
    .loose(),
]);
const columnSchema = z
  .object({ type: columnTypeSchema, ephemeral: z.boolean().optional(), mutable: z.boolean().optional() })
  .loose();
const tableSchema = z
  .object({
    columns: z.record(z.string(), columnSchema),
    isRoot: z.boolean().optional(),
    maxRows: z.number().optional(),
    indexes: z.array(z.array(z.string())).optional(),
  })
  .loose();
/** What get_schema returns. */
export const databaseSchemaDocument = z
  .object({
    name: z.string(),
    version: z.string().optional(),
    cksum: z.string().optional(),
    tables: z.record(z.string(), tableSchema),
  })
  .loose();
export type DatabaseSchemaDocument = z.infer<typeof databaseSchemaDocument>;

/** How a column's values are shaped on the wire. */
export type ColumnKind = "scalar" | "set" | "map";

const IMPLICIT_COLUMNS = new Set(["_uuid", "_version"]);

export class DatabaseSchema {
  private readonly kinds = new Map<string, Map<string, ColumnKind>>();

  constructor(readonly document: DatabaseSchemaDocument) {
    for (const [table, def] of Object.entries(document.tables)) {
      const columns = new Map<string, ColumnKind>();
      for (const [column, { type }] of Object.entries(def.columns)) {
        columns.set(column, kindOf(type));
      }
      this.kinds.set(table, columns);
    }
  }

  get name(): string {
    return this.document.name;
  }

  get version(): string | undefined {
    return this.document.version;
  }

  tables(): string[] {
    return [...this.kinds.keys()];
  }

  hasTable(table: string): boolean {
    return this.kinds.has(table);
  }

  columns(table: string): string[] {
    return [...(this.kinds.get(table)?.keys() ?? [])];
  }

  /** The column's kind; `_uuid`/`_version` are scalars. Throws for unknown names. */
  columnKind(table: string, column: string): ColumnKind {
    if (IMPLICIT_COLUMNS.has(column)) return "scalar";
    const columns = this.kinds.get(table);
    if (!columns) throw new OvsdbSchemaError(`table "${table}" is not in database ${this.name}`, table);
    const kind = columns.get(column);
    if (!kind)
      throw new OvsdbSchemaError(
        `column "${column}" is not in table ${table} of database ${this.name}`,
        table,
        column,
      );
    return kind;
  }

  /** Throws OvsdbSchemaError when an operation names a table or column this database lacks. */
  validate(operation: Operation): void {
    if (!("table" in operation)) return;
    const table = operation.table;
    if (!this.kinds.has(table))
      throw new OvsdbSchemaError(`table "${table}" is not in database ${this.name}`, table);
    const check = (column: string) => this.columnKind(table, column);
    const checkRow = (row: Row, writable: boolean) => {
      for (const column of Object.keys(row)) {
        if (writable && IMPLICIT_COLUMNS.has(column)) {
          throw new OvsdbSchemaError(`column "${column}" of table ${table} cannot be written`, table, column);
        }
        check(column);
      }
    };
    const checkWhere = (where: Condition[]) => {
      for (const [column] of where) check(column);
    };
    switch (operation.op) {
      case "insert":
        checkRow(operation.row, true);
        break;
      case "select":
        checkWhere(operation.where);
        for (const column of operation.columns ?? []) check(column);
        break;
      case "update":
        checkWhere(operation.where);
        checkRow(operation.row, true);
        break;
      case "mutate":
        checkWhere(operation.where);
        for (const [column] of operation.mutations) check(column);
        break;
      case "delete":
        checkWhere(operation.where);
        break;
      case "wait":
        checkWhere(operation.where);
        for (const column of operation.columns) check(column);
        for (const row of operation.rows) checkRow(row, false);
        break;
    }
  }
}

function kindOf(type: z.infer<typeof columnTypeSchema>): ColumnKind {
  if (typeof type === "string") return "scalar";
  if (type.value !== undefined) return "map";
  // An optional column (min 0, max 1) travels as a set, but ovsdb-server's update2 diff for it is
  // the new value, as for a scalar; only sets that can hold several elements get toggle diffs.
  const max = type.max ?? 1;
  return max === 1 ? "scalar" : "set";
}
