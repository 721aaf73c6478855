// Errors of the OVSDB layer. OvsdbError keeps everything needed to understand a refused
// transaction without re-running it: which operation failed, the server's words, and the ops.
import { OvsError, OvsTimeoutError } from "../errors.js";
import {
  JsonRpcClosedError,
  JsonRpcProtocolError,
  JsonRpcRemoteError,
  JsonRpcTimeoutError,
} from "../jsonrpc/errors.js";
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

/**
 * The server sent something OVSDB does not allow (garbage bytes, a reply or notification of the
 * wrong shape). The message is one sentence naming what was wrong; for notifications the
 * connection is closed (the replica cannot be trusted) and the client reconnects and resynchronises.
 */
export class OvsdbProtocolError extends OvsError {
  override name = "OvsdbProtocolError";
  constructor(
    message: string,
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request got no reply within its deadline (`requestTimeoutMs`, or the call's own). */
export class OvsdbTimeoutError extends OvsTimeoutError {
  override name = "OvsdbTimeoutError";
  constructor(
    readonly method: string,
    timeoutMs: number,
    readonly endpoint: string,
  ) {
    super(`${endpoint} did not answer ${method} within ${timeoutMs} ms`, timeoutMs);
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

/** Maps a transport error to this layer's class (the transport knows nothing of OVSDB). */
export function fromTransportError(error: unknown): unknown {
  if (error instanceof JsonRpcRemoteError) return new OvsdbRpcError(error.method, error.error);
  if (error instanceof JsonRpcTimeoutError)
    return new OvsdbTimeoutError(error.method, error.timeoutMs, error.endpoint);
  if (error instanceof JsonRpcProtocolError)
    return new OvsdbProtocolError(error.message, error.endpoint, { cause: error });
  if (error instanceof JsonRpcClosedError)
    return new OvsdbConnectionError(error.message, error.endpoint, { cause: error });
  return error;
}
