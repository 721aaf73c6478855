// Errors of the OVSDB layer. OvsdbError keeps everything needed to understand a refused
// transaction without re-running it: which operation failed, the server's words, and the ops.
import { OvsError } from "../errors.js";
import type { Operation } from "./operations.js";

/** The connection to ovsdb-server is closed, refused or silent; pending requests fail with it. */
export class OvsdbConnectionError extends OvsError {
  override name = "OvsdbConnectionError";
  constructor(
    message: string,
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered a JSON-RPC request with an error (e.g. unknown database or method). */
export class OvsdbRpcError extends OvsError {
  override name = "OvsdbRpcError";
  constructor(
    readonly method: string,
    /** The server's `error` member, as sent. */
    readonly error: unknown,
  ) {
    super(`ovsdb-server refused ${method}: ${describe(error)}`);
  }
}

/**
 * ovsdb-server refused a transaction. The database is unchanged: OVSDB commits all operations or
 * none. `operationIndex` is the failing operation (equal to the operation count when the commit
 * itself failed, e.g. a referential-integrity or index violation found at commit).
 */
export class OvsdbError extends OvsError {
  override name = "OvsdbError";
  constructor(
    readonly operationIndex: number,
    /** The server's short error tag, e.g. "constraint violation". */
    readonly error: string,
    /** The server's human-readable details, when it sent any. */
    readonly details: string | undefined,
    readonly transaction: readonly Operation[],
    readonly database: string,
  ) {
    const op = transaction[operationIndex];
    const where = op
      ? `operation ${operationIndex} (${op.op}${"table" in op ? ` ${op.table}` : ""})`
      : "commit";
    super(`ovsdb transaction failed at ${where}: ${error}${details ? `: ${details}` : ""}`);
  }
}

/** A table or column name that the database schema does not have; nothing was sent. */
export class OvsdbSchemaError extends OvsError {
  override name = "OvsdbSchemaError";
  constructor(
    message: string,
    readonly table: string,
    readonly column?: string,
  ) {
    super(message);
  }
}

function describe(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object") {
    const e = error as { error?: unknown; details?: unknown };
    if (typeof e.error === "string")
      return typeof e.details === "string" ? `${e.error}: ${e.details}` : e.error;
  }
  return JSON.stringify(error);
}
