// The OVSDB client (RFC 7047): transactions validated against the server's schema, monitors that
// keep a replica, locks, and a connection that comes back by itself. While it is down, requests
// fail at once with OvsdbConnectionError (never hang); once it is back, monitors are re-issued
// (their replicas resynchronised) and held locks requested again.
//
// Life cycle, as the code enforces it: connect() makes one attempt and, if it fails, leaves
// nothing behind (no socket, no timer, no loop). After a successful connect, a lost connection
// starts at most one reconnect loop per client, with exponential backoff bounded by maxDelayMs and
// carried over when a fresh connection dies young (so a server that accepts and drops cannot make
// it spin). close() stops the loop, its timer and any half-open connection at once.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { OvsInputError, parseInput } from "../errors.js";
import {
  type ConnectionOptions,
  type Endpoint,
  formatEndpoint,
  JsonRpcConnection,
  parseEndpoint,
} from "../jsonrpc/connection.js";
import { JsonRpcProtocolError } from "../jsonrpc/errors.js";
import { describeZodError } from "../zod-error.js";
import { fromTransportError, OvsdbConnectionError, OvsdbError, OvsdbProtocolError } from "./errors.js";
import { checkTableUpdates, type MonitorRequests, OvsdbMonitor } from "./monitor.js";
import { type Operation, type OperationResult, transactReplySchema } from "./operations.js";
import { DatabaseSchema, databaseSchemaDocument } from "./schema.js";

export interface ReconnectOptions {
  /** First wait after a lost connection (default 100 ms); doubles up to maxDelayMs. */
  readonly minDelayMs?: number;
  /** Longest wait between attempts (default 5000 ms). */
  readonly maxDelayMs?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  readonly maxAttempts?: number;
}

export interface OvsdbClientOptions extends ConnectionOptions {
  /** Database used when a call names none (default "Open_vSwitch"). */
  readonly database?: string;
  /** Reconnect after a lost connection (default true); false closes the client instead. */
  readonly reconnect?: boolean | ReconnectOptions;
  /** Check table and column names against the schema before sending (default true). */
  readonly validate?: boolean;
}

export interface TransactOptions {
  readonly database?: string;
  readonly validate?: boolean;
  /**
   * Deadline for the reply (default: the client's requestTimeoutMs plus the timeouts of the
   * transaction's `wait` operations, which the server may legitimately spend).
   */
  readonly timeoutMs?: number;
}

export interface MonitorOptions {
  readonly database?: string;
  /** Use monitor_cond (update2 diffs, `where` conditions) instead of monitor (default false). */
  readonly conditional?: boolean;
}

export interface OvsdbClientEvents {
  /** The connection was lost (or closed for bad server input); requests fail until `reconnect`. */
  disconnect: [error: OvsdbConnectionError | OvsdbProtocolError];
  /** The connection is back and monitors and locks were re-issued. */
  reconnect: [];
  /** A lock was granted later (the server's "locked" notification). */
  locked: [lockId: string];
  /** A lock was taken away (the server's "stolen" notification). */
  stolen: [lockId: string];
  /** Reconnecting was given up (maxAttempts) or the client was closed. */
  close: [];
}

const positiveMs = z
  .number()
  .int("must be a whole number of milliseconds")
  .positive("must be more than 0 ms");
const clientOptions = z
  .object({
    database: z.string().min(1, "must not be empty").optional(),
    reconnect: z
      .union([
        z.boolean(),
        z
          .object({
            minDelayMs: positiveMs.optional(),
            maxDelayMs: positiveMs.optional(),
            maxAttempts: z.number().int("must be an integer").positive("must be at least 1").optional(),
          })
          .strict(),
      ])
      .optional(),
    validate: z.boolean().optional(),
    connectTimeoutMs: positiveMs.optional(),
    probeIntervalMs: z
      .number()
      .int("must be a whole number of milliseconds")
      .nonnegative("must be 0 (off) or more")
      .optional(),
    requestTimeoutMs: positiveMs.optional(),
  })
  .strict();

const stringArray = z.array(z.string());
const lockReply = z.object({ locked: z.boolean() }).loose();

let monitorCounter = 0;

/** Lock names are RFC 7047 <id>s: letters, digits and underscores, not starting with a digit. */
function checkLockId(lockId: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(lockId)) {
    throw new OvsInputError(
      "lockId",
      `${JSON.stringify(lockId)} must use letters, digits and "_" only, not starting with a digit`,
    );
  }
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  /** The connection in use: open and through its handshake. */
  private connection: JsonRpcConnection | undefined;
  /** A connection the reconnect loop is setting up (closed by close()). */
  private handshaking: JsonRpcConnection | undefined;
  private schemas = new Map<string, DatabaseSchema>();
  private readonly monitors = new Map<string, OvsdbMonitor>();
  /** Monitors whose reply has not been handled yet, with the updates that came before it. */
  private readonly starting = new Map<string, [unknown, 1 | 2][]>();
  private readonly locks = new Set<string>();
  private closing = false;
  private reconnecting: Promise<void> | undefined;
  private readonly stopReconnecting = new AbortController();
  /** The next reconnect wait; kept between loops so that short-lived connections back off too. */
  private nextDelayMs: number;
  private connectedAt = 0;
  readonly database: string;
  readonly endpoint: Endpoint;

  private constructor(
    endpoint: Endpoint,
    private readonly options: OvsdbClientOptions,
  ) {
    super();
    this.endpoint = endpoint;
    this.database = options.database ?? "Open_vSwitch";
    this.nextDelayMs = this.reconnectSettings().minDelayMs;
  }

  /**
   * Connects to ovsdb-server (`unix:/path`, `tcp:host:port` or an Endpoint) and fetches the
   * default database's schema. On failure nothing is left open or running.
   */
  static async connect(remote: string | Endpoint, options: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const client = new OvsdbClient(parseEndpoint(remote), parseInput(clientOptions, options, "options"));
    const connection = await client.establish();
    client.adopt(connection);
    return client;
  }

  /** Where the client is connected, in OVS's remote syntax. */
  get remote(): string {
    return formatEndpoint(this.endpoint);
  }

  get isConnected(): boolean {
    return this.connection !== undefined && !this.connection.isClosed;
  }

  get isClosed(): boolean {
    return this.closing;
  }

  private reconnectSettings(): Required<Omit<ReconnectOptions, "maxAttempts">> & ReconnectOptions {
    const settings = typeof this.options.reconnect === "object" ? this.options.reconnect : {};
    const minDelayMs = Math.max(1, settings.minDelayMs ?? 100);
    return { ...settings, minDelayMs, maxDelayMs: Math.max(minDelayMs, settings.maxDelayMs ?? 5000) };
  }

  /**
   * Opens a connection and runs the handshake on it (schema, monitors, locks). Resolves with the
   * connection ready for use; on any failure the connection is closed and the error thrown.
   */
  private async establish(): Promise<JsonRpcConnection> {
    let connection: JsonRpcConnection;
    try {
      connection = await JsonRpcConnection.open(this.endpoint, this.options);
    } catch (error) {
      throw fromTransportError(error);
    }
    if (this.closing) {
      // close() was called while the socket was connecting.
      connection.close();
      throw new OvsdbConnectionError(`client for ${this.remote} is closed`, this.remote);
    }
    this.handshaking = connection;
    connection.on("notification", (method, params) => this.onNotification(connection, method, params));
    try {
      const schemas = new Map<string, DatabaseSchema>();
      schemas.set(this.database, await this.fetchSchema(connection, this.database));
      for (const monitor of this.monitors.values()) {
        // As in monitor(): updates that come with the reply are applied after the reset.
        const early: [unknown, 1 | 2][] = [];
        this.starting.set(monitor.id, early);
        let initial: unknown;
        try {
          initial = await this.sendMonitor(connection, monitor);
        } finally {
          this.starting.delete(monitor.id);
        }
        this.checkUpdates(connection, initial, monitor.conditional ? 2 : 1, `${monitor.id} reply`);
        monitor.reset(initial, monitor.conditional ? 2 : 1);
        for (const [updates, form] of early) monitor.apply(updates, form);
      }
      for (const lock of this.locks) await this.call(connection, "lock", [lock]);
      if (this.closing) throw new OvsdbConnectionError(`client for ${this.remote} is closed`, this.remote);
      if (connection.isClosed)
        throw new OvsdbConnectionError(`connection to ${this.remote} closed`, this.remote);
      this.schemas = schemas;
      return connection;
    } catch (error) {
      connection.close();
      throw error;
    } finally {
      if (this.handshaking === connection) this.handshaking = undefined;
    }
  }

  /** Makes `connection` the one in use and watches for its loss. */
  private adopt(connection: JsonRpcConnection): void {
    this.connection = connection;
    this.connectedAt = Date.now();
    connection.on("close", (error) => this.onLost(connection, error));
  }

  private onLost(connection: JsonRpcConnection, error: unknown): void {
    if (this.connection !== connection || this.closing) return;
    this.connection = undefined;
    const mapped = fromTransportError(error);
    const cause =
      mapped instanceof OvsdbConnectionError || mapped instanceof OvsdbProtocolError
        ? mapped
        : new OvsdbConnectionError(`connection to ${this.remote} closed`, this.remote);
    this.emit("disconnect", cause);
    if (this.options.reconnect === false) {
      this.shutdown();
      return;
    }
    // A connection that lived less than the longest wait is a sign of a flapping or hostile
    // server: keep backing off from where the last loop stopped instead of starting over.
    const { minDelayMs, maxDelayMs } = this.reconnectSettings();
    if (Date.now() - this.connectedAt >= maxDelayMs) this.nextDelayMs = minDelayMs;
    this.reconnecting ??= this.reconnectLoop().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnectLoop(): Promise<void> {
    const settings = this.reconnectSettings();
    const signal = this.stopReconnecting.signal;
    for (let attempt = 1; !this.closing; attempt++) {
      const delay = this.nextDelayMs;
      this.nextDelayMs = Math.min(settings.maxDelayMs, delay * 2);
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return; // close() aborted the wait
      }
      if (this.closing) return;
      try {
        const connection = await this.establish();
        this.adopt(connection);
        this.emit("reconnect");
        return;
      } catch {
        if (settings.maxAttempts !== undefined && attempt >= settings.maxAttempts) {
          this.shutdown();
          return;
        }
      }
    }
  }

  /** Resolves once connected (immediately when already), or rejects after timeoutMs. */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isConnected || this.reconnecting) {
      if (this.closing) throw new OvsdbConnectionError(`client for ${this.remote} is closed`, this.remote);
      if (Date.now() > deadline)
        throw new OvsdbConnectionError(
          `${this.remote} did not come back within ${timeoutMs} ms`,
          this.remote,
        );
      await sleep(20);
    }
  }

  /** A request on a given connection, with transport errors mapped to this layer's classes. */
  private async call(
    connection: JsonRpcConnection,
    method: string,
    params: unknown[],
    timeoutMs?: number,
  ): Promise<unknown> {
    try {
      return await connection.request(method, params, timeoutMs);
    } catch (error) {
      throw fromTransportError(error);
    }
  }

  private request(method: string, params: unknown[], timeoutMs?: number): Promise<unknown> {
    if (this.closing)
      return Promise.reject(new OvsdbConnectionError(`client for ${this.remote} is closed`, this.remote));
    const connection = this.connection;
    if (!connection || connection.isClosed) {
      return Promise.reject(
        new OvsdbConnectionError(`not connected to ${this.remote} (reconnecting)`, this.remote),
      );
    }
    return this.call(connection, method, params, timeoutMs);
  }

  /** Parses a reply; a wrong shape is an OvsdbProtocolError in one sentence naming the field. */
  private parseReply<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const { field, reason } = describeZodError(result.error, "result");
    throw new OvsdbProtocolError(
      `${this.remote} sent a ${method} reply that OVSDB does not allow: ${field} ${reason}`,
      this.remote,
    );
  }

  private async fetchSchema(connection: JsonRpcConnection, database: string): Promise<DatabaseSchema> {
    const reply = await this.call(connection, "get_schema", [database]);
    return new DatabaseSchema(this.parseReply(databaseSchemaDocument, reply, "get_schema"));
  }

  /** Names of the databases the server holds. */
  async listDatabases(): Promise<string[]> {
    return this.parseReply(stringArray, await this.request("list_dbs", []), "list_dbs");
  }

  /** The schema of a database, fetched once per connection (pass refresh to fetch again). */
  async schema(database = this.database, refresh = false): Promise<DatabaseSchema> {
    const cached = this.schemas.get(database);
    if (cached && !refresh) return cached;
    const document = this.parseReply(
      databaseSchemaDocument,
      await this.request("get_schema", [database]),
      "get_schema",
    );
    const schema = new DatabaseSchema(document);
    this.schemas.set(database, schema);
    return schema;
  }

  /**
   * Runs operations as one atomic transaction and returns one result per operation. Throws
   * OvsdbError (with the failing operation's index) when any operation or the commit fails, in
   * which case nothing was changed; OvsdbSchemaError, before sending, for unknown names;
   * OvsdbTimeoutError when no reply came within the deadline (the outcome is then unknown).
   */
  async transact(
    operations: readonly Operation[],
    options: TransactOptions = {},
  ): Promise<OperationResult[]> {
    const database = options.database ?? this.database;
    if (options.validate ?? this.options.validate ?? true) {
      const schema = await this.schema(database);
      for (const operation of operations) schema.validate(operation);
    }
    const waits = operations.reduce((sum, op) => sum + (op.op === "wait" ? (op.timeout ?? 0) : 0), 0);
    const timeoutMs = options.timeoutMs ?? (this.options.requestTimeoutMs ?? 30_000) + waits;
    const reply = this.parseReply(
      transactReplySchema,
      await this.request("transact", [database, ...operations], timeoutMs),
      "transact",
    );
    for (let index = 0; index < reply.length; index++) {
      const result = reply[index];
      if (result?.error !== undefined) {
        throw new OvsdbError(index, result.error, result.details, operations, database);
      }
    }
    if (reply.length < operations.length) {
      // Operations after a failed one get null results; a short reply is a protocol error.
      throw new OvsdbError(
        reply.length,
        "short reply",
        `${reply.length} results for ${operations.length} operations`,
        operations,
        database,
      );
    }
    return reply.slice(0, operations.length).map((result) => result ?? {});
  }

  /** Sends an echo and resolves with the server's reply (a liveness check). */
  async echo(...payload: unknown[]): Promise<unknown> {
    return this.request("echo", payload);
  }

  /**
   * Starts a monitor and returns its replica, already holding the initial rows. `conditional`
   * uses monitor_cond (update2 diffs, per-table `where`).
   */
  async monitor(requests: MonitorRequests, options: MonitorOptions = {}): Promise<OvsdbMonitor> {
    const database = options.database ?? this.database;
    const schema = await this.schema(database);
    for (const [table, request] of Object.entries(requests)) {
      if (!schema.hasTable(table)) schema.columnKind(table, "_uuid");
      for (const column of request.columns ?? []) schema.columnKind(table, column);
      for (const [column] of request.where ?? []) schema.columnKind(table, column);
    }
    monitorCounter += 1;
    const monitor = new OvsdbMonitor(
      `vmnet-monitor-${monitorCounter}`,
      database,
      requests,
      options.conditional ?? false,
      schema,
    );
    const connection = this.connection;
    if (!connection || connection.isClosed || this.closing)
      throw new OvsdbConnectionError(`not connected to ${this.remote} (reconnecting)`, this.remote);
    const form = monitor.conditional ? 2 : 1;
    // Updates can arrive in the same read as the reply, before this function resumes: they are
    // kept and applied after the initial rows, or they would be lost.
    const early: [unknown, 1 | 2][] = [];
    this.starting.set(monitor.id, early);
    let initial: unknown;
    try {
      initial = await this.sendMonitor(connection, monitor);
    } finally {
      this.starting.delete(monitor.id);
    }
    const problem = checkTableUpdates(initial, form, `${monitor.id} reply`);
    if (problem)
      throw new OvsdbProtocolError(`${this.remote} sent a malformed monitor reply: ${problem}`, this.remote);
    monitor.apply(initial, form, false);
    for (const [updates, updateForm] of early) monitor.apply(updates, updateForm, false);
    this.monitors.set(monitor.id, monitor);
    monitor.cancelHook = async () => {
      if (!this.monitors.delete(monitor.id)) return;
      await this.request("monitor_cancel", [monitor.id]);
    };
    return monitor;
  }

  private sendMonitor(connection: JsonRpcConnection, monitor: OvsdbMonitor): Promise<unknown> {
    const requests: Record<string, Record<string, unknown>> = {};
    for (const [table, request] of Object.entries(monitor.requests)) {
      const wire: Record<string, unknown> = {};
      if (request.columns) wire.columns = request.columns;
      if (request.select) wire.select = request.select;
      if (monitor.conditional && request.where) wire.where = request.where;
      requests[table] = wire;
    }
    const method = monitor.conditional ? "monitor_cond" : "monitor";
    return this.call(connection, method, [monitor.database, monitor.id, requests]);
  }

  /**
   * Requests a lock (RFC 7047 §4.1.8). Resolves true when granted now; false when queued, in
   * which case a "locked" event follows when it is granted.
   */
  async lock(lockId: string): Promise<boolean> {
    checkLockId(lockId);
    const reply = this.parseReply(lockReply, await this.request("lock", [lockId]), "lock");
    this.locks.add(lockId);
    return reply.locked;
  }

  /** Takes the lock from whoever holds it. */
  async steal(lockId: string): Promise<void> {
    checkLockId(lockId);
    await this.request("steal", [lockId]);
    this.locks.add(lockId);
  }

  async unlock(lockId: string): Promise<void> {
    this.locks.delete(lockId);
    await this.request("unlock", [lockId]);
  }

  /**
   * Closes the connection for good and stops reconnecting; pending requests fail with
   * OvsdbConnectionError. Nothing of the client stays open or scheduled afterwards.
   */
  close(): void {
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closing) return;
    this.closing = true;
    this.stopReconnecting.abort();
    this.handshaking?.close();
    this.connection?.close();
    this.emit("close");
  }

  /** Closes `connection` with a protocol error when a monitor payload is malformed. */
  private checkUpdates(connection: JsonRpcConnection, updates: unknown, form: 1 | 2, what: string): boolean {
    const problem = checkTableUpdates(updates, form, what);
    if (!problem) return true;
    const message = `${this.remote} sent a malformed ${what}: ${problem}`;
    connection.abort(new JsonRpcProtocolError(message, this.remote));
    throw new OvsdbProtocolError(message, this.remote);
  }

  private onNotification(connection: JsonRpcConnection, method: string, params: unknown): void {
    if (connection !== this.connection && connection !== this.handshaking) return;
    const args = Array.isArray(params) ? params : [];
    if (method === "update" || method === "update2") {
      const early = this.starting.get(String(args[0]));
      const monitor = early ? undefined : this.monitors.get(String(args[0]));
      if (!monitor && !early) return;
      const form = method === "update" ? 1 : 2;
      const problem = checkTableUpdates(args[1], form, `${method} notification`);
      if (problem) {
        // The replica can no longer be trusted: drop the connection with a typed error; the
        // reconnect re-issues the monitor and rebuilds the replica from the server's state.
        connection.abort(
          new JsonRpcProtocolError(
            `${this.remote} sent a malformed ${method} notification: ${problem}`,
            this.remote,
          ),
        );
        return;
      }
      if (monitor) monitor.apply(args[1], form);
      else early?.push([args[1], form]);
    } else if (method === "locked" || method === "stolen") {
      this.emit(method, String(args[0]));
    }
  }
}
