// One JSON-RPC 1.0 session over a stream socket, as OVSDB uses it (RFC 7047 §4): requests with ids,
// responses matched by id, notifications (id null) passed up, and the peer's "echo" requests
// answered. Every request has a deadline, and an inactivity probe (our own "echo") turns a silent
// peer into an error instead of a hang. Anything the peer sends that breaks the protocol closes the
// connection with a typed error; nothing the peer sends can throw out of the socket's handlers.
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { OvsInputError } from "../errors.js";
import {
  JsonRpcClosedError,
  JsonRpcProtocolError,
  JsonRpcRemoteError,
  JsonRpcTimeoutError,
} from "./errors.js";
import { JsonStreamParser } from "./stream-parser.js";

/** Where an ovsdb-server listens: a unix socket path, or TCP host and port. */
export type Endpoint = { readonly path: string } | { readonly host: string; readonly port: number };

/** Parses OVS's remote syntax: `unix:/path`, `tcp:host:port`, or a bare socket path. */
export function parseEndpoint(remote: string | Endpoint): Endpoint {
  if (typeof remote !== "string") return remote;
  if (remote.startsWith("unix:")) return { path: remote.slice(5) };
  if (remote.startsWith("tcp:")) {
    const rest = remote.slice(4);
    const colon = rest.lastIndexOf(":");
    const port = Number(rest.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new OvsInputError("remote", `${JSON.stringify(remote)} is not tcp:HOST:PORT`);
    }
    return { host: rest.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
  }
  if (remote.startsWith("/")) return { path: remote };
  throw new OvsInputError("remote", `${JSON.stringify(remote)} is neither unix:PATH nor tcp:HOST:PORT`);
}

export function formatEndpoint(endpoint: Endpoint): string {
  return "path" in endpoint ? `unix:${endpoint.path}` : `tcp:${endpoint.host}:${endpoint.port}`;
}

export interface ConnectionOptions {
  /** Give up connecting after this long (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** Send an echo after this much silence and close if it is not answered as long again; 0 = off (default 5000 ms). */
  readonly probeIntervalMs?: number;
  /** Deadline of each request unless the call gives its own (default 30000 ms). */
  readonly requestTimeoutMs?: number;
}

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Message {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export interface JsonRpcConnectionEvents {
  notification: [method: string, params: unknown];
  /** Emitted once; `error` is undefined when close() was called. */
  close: [error: JsonRpcClosedError | JsonRpcProtocolError | undefined];
}

export class JsonRpcConnection extends EventEmitter<JsonRpcConnectionEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly parser = new JsonStreamParser();
  private lastActivity = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeOutstanding = false;
  private closed = false;
  private closeError: JsonRpcClosedError | JsonRpcProtocolError | undefined;
  private readonly requestTimeoutMs: number;

  private constructor(
    private readonly socket: Socket,
    readonly endpoint: string,
    private readonly probeIntervalMs: number,
    requestTimeoutMs: number,
  ) {
    super();
    this.requestTimeoutMs = requestTimeoutMs;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) =>
      this.fail(
        new JsonRpcClosedError(`connection to ${endpoint} failed: ${error.message}`, endpoint, {
          cause: error,
        }),
      ),
    );
    socket.on("close", () =>
      this.fail(new JsonRpcClosedError(`connection to ${endpoint} closed by the server`, endpoint)),
    );
    if (probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probe(), Math.max(50, Math.floor(probeIntervalMs / 2)));
      this.probeTimer.unref();
    }
  }

  /** Opens a connection; rejects with JsonRpcClosedError when nobody listens. Nothing stays open on failure. */
  static open(remote: string | Endpoint, options: ConnectionOptions = {}): Promise<JsonRpcConnection> {
    const endpoint = parseEndpoint(remote);
    const name = formatEndpoint(endpoint);
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket =
        "path" in endpoint
          ? connect({ path: endpoint.path })
          : connect({ host: endpoint.host, port: endpoint.port });
      socket.setNoDelay?.(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new JsonRpcClosedError(`cannot connect to ${name}: no answer within ${timeoutMs} ms`, name));
      }, timeoutMs);
      timer.unref();
      socket.once("error", (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new JsonRpcClosedError(`cannot connect to ${name}: ${error.message}`, name, { cause: error }));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(
          new JsonRpcConnection(
            socket,
            name,
            options.probeIntervalMs ?? 5000,
            options.requestTimeoutMs ?? 30_000,
          ),
        );
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends a request and resolves with its `result`. Rejects with JsonRpcRemoteError (the peer's
   * error member), JsonRpcTimeoutError (no reply within the deadline) or JsonRpcClosedError.
   */
  request(method: string, params: unknown[], timeoutMs = this.requestTimeoutMs): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(
        this.closeError ?? new JsonRpcClosedError(`connection to ${this.endpoint} is closed`, this.endpoint),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // unref: a pending deadline alone never keeps the process alive (the socket does, while open).
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(new JsonRpcTimeoutError(method, timeoutMs, this.endpoint));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { method, resolve, reject, timer });
      this.socket.write(JSON.stringify({ id, method, params }));
    });
  }

  /** Sends a notification (a request that gets no reply). */
  notify(method: string, params: unknown[]): void {
    if (this.closed) return;
    this.socket.write(JSON.stringify({ id: null, method, params }));
  }

  /** Closes the socket; pending requests fail with JsonRpcClosedError. */
  close(): void {
    if (this.closed) return;
    this.fail(undefined);
  }

  /** Closes the connection because what the peer sent makes no sense to the layer above. */
  abort(error: JsonRpcProtocolError): void {
    this.fail(error);
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    try {
      for (const message of this.parser.push(chunk)) {
        if (this.closed) return;
        this.dispatch(message as Message);
      }
    } catch (error) {
      // Garbage on the stream, or a message a listener could not handle: the session cannot be
      // trusted any more. Close it with a typed error rather than let the exception escape the
      // socket's handler (which would end the process).
      this.fail(
        new JsonRpcProtocolError(
          `protocol error from ${this.endpoint}: ${(error as Error).message}`,
          this.endpoint,
          { cause: error },
        ),
      );
    }
  }

  private dispatch(message: Message): void {
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      throw new JsonRpcProtocolError("a JSON-RPC message must be an object", this.endpoint);
    }
    if (typeof message.method === "string") {
      const params = message.params;
      if (message.id === null || message.id === undefined) {
        this.emit("notification", message.method, params);
      } else if (message.method === "echo") {
        this.socket.write(JSON.stringify({ id: message.id, result: params, error: null }));
      } else {
        this.socket.write(
          JSON.stringify({ id: message.id, result: null, error: `unknown method ${message.method}` }),
        );
      }
      return;
    }
    // A reply. One we no longer wait for (its deadline passed) or never sent is dropped.
    if (typeof message.id !== "number") return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error !== null && message.error !== undefined)
      pending.reject(new JsonRpcRemoteError(pending.method, message.error, this.endpoint));
    else pending.resolve(message.result);
  }

  private probe(): void {
    if (this.closed || this.probeOutstanding) return;
    const idle = Date.now() - this.lastActivity;
    if (idle < this.probeIntervalMs) return;
    this.probeOutstanding = true;
    this.request("echo", ["vmnet-probe"], this.probeIntervalMs).then(
      () => {
        this.probeOutstanding = false;
      },
      (error: unknown) => {
        this.probeOutstanding = false;
        if (error instanceof JsonRpcTimeoutError) {
          this.fail(
            new JsonRpcClosedError(
              `${this.endpoint} did not answer an echo within ${this.probeIntervalMs} ms`,
              this.endpoint,
            ),
          );
        }
      },
    );
  }

  private fail(error: JsonRpcClosedError | JsonRpcProtocolError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError =
      error ?? new JsonRpcClosedError(`connection to ${this.endpoint} was closed`, this.endpoint);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.socket.destroy();
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.closeError);
    }
    this.pending.clear();
    this.emit("close", error);
  }
}
