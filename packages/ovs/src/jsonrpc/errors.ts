// Errors of the JSON-RPC transport. They say what happened on the wire (closed, garbage, no reply,
// the peer's error member) and nothing about OVSDB: the layer above maps them to its own classes.
import { OvsError } from "../errors.js";

/** Base of every transport error; `endpoint` is the peer in OVS's remote syntax. */
export class JsonRpcError extends OvsError {
  override name = "JsonRpcError";
  constructor(
    message: string,
    readonly endpoint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The connection could not be opened, was closed, or went silent (the inactivity probe). */
export class JsonRpcClosedError extends JsonRpcError {
  override name = "JsonRpcClosedError";
}

/** The peer sent bytes or a message that JSON-RPC does not allow; the connection is closed. */
export class JsonRpcProtocolError extends JsonRpcError {
  override name = "JsonRpcProtocolError";
}

/** No reply to a request within its deadline. The connection stays open; a late reply is dropped. */
export class JsonRpcTimeoutError extends JsonRpcError {
  override name = "JsonRpcTimeoutError";
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    endpoint: string,
  ) {
    super(`${endpoint} did not answer ${method} within ${timeoutMs} ms`, endpoint);
  }
}

/** The peer answered a request with a non-null `error` member. */
export class JsonRpcRemoteError extends JsonRpcError {
  override name = "JsonRpcRemoteError";
  constructor(
    readonly method: string,
    /** The peer's `error` member, as sent. */
    readonly error: unknown,
    endpoint: string,
  ) {
    super(`${endpoint} refused ${method}`, endpoint);
  }
}
