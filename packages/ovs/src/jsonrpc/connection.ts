// One JSON-RPC 1.0 session over a stream socket, as OVSDB uses it (RFC 7047 §4): requests with ids,
// responses matched by id, notifications (id null) passed up, and the server's "echo" requests
// answered. An inactivity probe (our own "echo") turns a silent peer into an error instead of a hang.
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { OvsdbConnectionError, OvsdbRpcError } from "../ovsdb/errors.js";
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
      throw new OvsdbConnectionError(`remote "${remote}" is not tcp:HOST:PORT`, remote);
    }
    return { host: rest.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port };
  }
  if (remote.startsWith("/")) return { path: remote };
  throw new OvsdbConnectionError(`remote "${remote}" is neither unix:PATH nor tcp:HOST:PORT`, remote);
}

export function formatEndpoint(endpoint: Endpoint): string {
  return "path" in endpoint ? `unix:${endpoint.path}` : `tcp:${endpoint.host}:${endpoint.port}`;
}

export interface ConnectionOptions {
  /** Give up connecting after this long (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** Send an echo after this much silence and close if it is not answered as long again; 0 = off (default 5000 ms). */
  readonly probeIntervalMs?: number;
}

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
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
  close: [error: OvsdbConnectionError | undefined];
}

export class JsonRpcConnection extends EventEmitter<JsonRpcConnectionEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly parser = new JsonStreamParser();
  private lastActivity = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeOutstanding = false;
  private closed = false;
  private closeError: OvsdbConnectionError | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly endpoint: string,
    private readonly probeIntervalMs: number,
  ) {
    super();
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) =>
      this.fail(
        new OvsdbConnectionError(`connection to ${endpoint} failed: ${error.message}`, endpoint, {
          cause: error,
        }),
      ),
    );
    socket.on("close", () =>
      this.fail(new OvsdbConnectionError(`connection to ${endpoint} closed by the server`, endpoint)),
    );
    if (probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probe(), Math.max(50, Math.floor(probeIntervalMs / 2)));
      this.probeTimer.unref();
    }
  }

  /** Opens a connection; rejects with OvsdbConnectionError when nobody listens. */
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
        reject(new OvsdbConnectionError(`cannot connect to ${name}: no answer within ${timeoutMs} ms`, name));
      }, timeoutMs);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(
          new OvsdbConnectionError(`cannot connect to ${name}: ${error.message}`, name, { cause: error }),
        );
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new JsonRpcConnection(socket, name, options.probeIntervalMs ?? 5000));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a request and resolves with its `result`; rejects with OvsdbRpcError or OvsdbConnectionError. */
  request(method: string, params: unknown[]): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(
        this.closeError ??
          new OvsdbConnectionError(`connection to ${this.endpoint} is closed`, this.endpoint),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.socket.write(JSON.stringify({ id, method, params }));
    });
  }

  /** Sends a notification (a request that gets no reply). */
  notify(method: string, params: unknown[]): void {
    if (this.closed) return;
    this.socket.write(JSON.stringify({ id: null, method, params }));
  }

  /** Closes the socket; pending requests fail with OvsdbConnectionError. */
  close(): void {
    if (this.closed) return;
    this.fail(undefined);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    let messages: unknown[];
    try {
      messages = this.parser.push(chunk);
    } catch (error) {
      this.fail(
        new OvsdbConnectionError(
          `protocol error from ${this.endpoint}: ${(error as Error).message}`,
          this.endpoint,
          { cause: error },
        ),
      );
      this.socket.destroy();
      return;
    }
    for (const message of messages) this.dispatch(message as Message);
  }

  private dispatch(message: Message): void {
    if (typeof message !== "object" || message === null || Array.isArray(message)) return;
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
    if (typeof message.id !== "number") return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error !== null && message.error !== undefined)
      pending.reject(new OvsdbRpcError(pending.method, message.error));
    else pending.resolve(message.result);
  }

  private probe(): void {
    if (this.closed || this.probeOutstanding) return;
    const idle = Date.now() - this.lastActivity;
    if (idle < this.probeIntervalMs) return;
    this.probeOutstanding = true;
    const timer = setTimeout(() => {
      this.fail(
        new OvsdbConnectionError(
          `${this.endpoint} did not answer an echo within ${this.probeIntervalMs} ms`,
          this.endpoint,
        ),
      );
      this.socket.destroy();
    }, this.probeIntervalMs);
    timer.unref();
    this.request("echo", ["vmnet-probe"]).then(
      () => {
        clearTimeout(timer);
        this.probeOutstanding = false;
      },
      () => clearTimeout(timer),
    );
  }

  private fail(error: OvsdbConnectionError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError =
      error ?? new OvsdbConnectionError(`connection to ${this.endpoint} was closed`, this.endpoint);
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const pending of this.pending.values()) pending.reject(this.closeError);
    this.pending.clear();
    this.emit("close", error);
  }
}
