// The OVSDB client (RFC 7047): transactions validated against the server's schema, monitors that
// keep a replica, locks, and a connection that comes back by itself. While it is down, requests
// fail at once with OvsdbConnectionError (never hang); once it is back, monitors are re-issued
// (their replicas resynchronised) and held locks requested again.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { OvsInputError } from "../errors.js";
import {
  type ConnectionOptions,
  type Endpoint,
  formatEndpoint,
  JsonRpcConnection,
  parseEndpoint,
} from "../jsonrpc/connection.js";
import { OvsdbConnectionError, OvsdbError } from "./errors.js";
import { type MonitorRequests, OvsdbMonitor } from "./monitor.js";
import { type Operation, type OperationResult, transactReplySchema } from "./operations.js";
import { DatabaseSchema, databaseSchemaDocument } from "./schema.js";

export interface ReconnectOptions {
  /** First wait after a lost connection (default 100 ms); doubles up to maxDelayMs. */
  readonly minDelayMs?: number;
  /** Longest wait between attempts (default 5000 ms). */
  readonly maxDelayMs?: number;
  /** Give up after this many failed attempts (default: never). */
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
}

export interface MonitorOptions {
  readonly database?: string;
  /** Use monitor_cond (update2 diffs, `where` conditions) instead of monitor (default false). */
  readonly conditional?: boolean;
}

export interface OvsdbClientEvents {
  /** The connection was lost; requests fail until `reconnect`. */
  disconnect: [error: OvsdbConnectionError];
  /** The connection is back and monitors and locks were re-issued. */
  reconnect: [];
  /** A lock was granted later (the server's "locked" notification). */
  locked: [lockId: string];
  /** A lock was taken away (the server's "stolen" notification). */
  stolen: [lockId: string];
  /** Reconnecting was given up (maxAttempts) or the client was closed. */
  close: [];
}

const stringArray = z.array(z.string());
const lockReply = z.object({ locked: z.boolean() }).loose();

let monitorCounter = 0;

/** Lock names are RFC 7047 <id>s: letters, digits and underscores, not starting with a digit. */
function checkLockId(lockId: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(lockId)) {
    throw new OvsInputError(
      `lock id "${lockId}" is invalid: use letters, digits and "_" only, not starting with a digit`,
      "lockId",
    );
  }
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  private connection: JsonRpcConnection | undefined;
  private readonly schemas = new Map<string, DatabaseSchema>();
  private readonly monitors = new Map<string, OvsdbMonitor>();
  private readonly locks = new Set<string>();
  private closing = false;
  private reconnecting: Promise<void> | undefined;
  readonly database: string;
  readonly endpoint: Endpoint;

  private constructor(
    endpoint: Endpoint,
    private readonly options: OvsdbClientOptions,
  ) {
    super();
    this.endpoint = endpoint;
    this.database = options.database ?? "Open_vSwitch";
  }

  /**
   * Connects to ovsdb-server (`unix:/path`, `tcp:host:port` or an Endpoint) and fetches the
   * default database's schema.
   */
  static async connect(remote: string | Endpoint, options: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const client = new OvsdbClient(parseEndpoint(remote), options);
    await client.open();
    return client;
  }

  /** Where the client is connected, in OVS's remote syntax. */
  get remote(): string {
    return formatEndpoint(this.endpoint);
  }

  get isConnected(): boolean {
    return this.connection !== undefined && !this.connection.isClosed;
  }

  private async open(): Promise<void> {
    const connection = await JsonRpcConnection.open(this.endpoint, this.options);
    this.attach(connection);
    await this.schema(this.database, true);
  }

  private attach(connection: JsonRpcConnection): void {
    this.connection = connection;
    connection.on("notification", (method, params) => this.onNotification(method, params));
    connection.on("close", (error) => {
      if (this.connection !== connection) return;
      if (this.closing) return;
      const cause = error ?? new OvsdbConnectionError(`connection to ${this.remote} closed`, this.remote);
      this.emit("disconnect", cause);
      if (this.options.reconnect === false) {
        this.closing = true;
        this.emit("close");
        return;
      }
      this.reconnecting = this.reconnectLoop().finally(() => {
        this.reconnecting = undefined;
      });
    });
  }

  private async reconnectLoop(): Promise<void> {
    const settings = typeof this.options.reconnect === "object" ? this.options.reconnect : {};
    const minDelay = settings.minDelayMs ?? 100;
    const maxDelay = settings.maxDelayMs ?? 5000;
    let delay = minDelay;
    for (let attempt = 1; !this.closing; attempt++) {
      await sleep(delay);
      if (this.closing) return;
      try {
        const connection = await JsonRpcConnection.open(this.endpoint, this.options);
        if (this.closing) {
          connection.close();
          return;
        }
        this.attach(connection);
        this.schemas.clear();
        await this.schema(this.database, true);
        for (const monitor of this.monitors.values()) {
          const { form, initial } = await this.sendMonitor(monitor);
          monitor.reset(initial, form);
        }
        for (const lock of this.locks) await connection.request("lock", [lock]);
        this.emit("reconnect");
        return;
      } catch {
        if (settings.maxAttempts !== undefined && attempt >= settings.maxAttempts) {
          this.closing = true;
          this.emit("close");
          return;
        }
        delay = Math.min(maxDelay, delay * 2);
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

  private request(method: string, params: unknown[]): Promise<unknown> {
    if (this.closing)
      return Promise.reject(new OvsdbConnectionError(`client for ${this.remote} is closed`, this.remote));
    const connection = this.connection;
    if (!connection || connection.isClosed) {
      return Promise.reject(
        new OvsdbConnectionError(`not connected to ${this.remote} (reconnecting)`, this.remote),
      );
    }
    return connection.request(method, params);
  }

  /** Names of the databases the server holds. */
  async listDatabases(): Promise<string[]> {
    return stringArray.parse(await this.request("list_dbs", []));
  }

  /** The schema of a database, fetched once per connection (pass refresh to fetch again). */
  async schema(database = this.database, refresh = false): Promise<DatabaseSchema> {
    const cached = this.schemas.get(database);
    if (cached && !refresh) return cached;
    const document = databaseSchemaDocument.parse(await this.request("get_schema", [database]));
    const schema = new DatabaseSchema(document);
    this.schemas.set(database, schema);
    return schema;
  }

  /**
   * Runs operations as one atomic transaction and returns one result per operation. Throws
   * OvsdbError (with the failing operation's index) when any operation or the commit fails, in
   * which case nothing was changed; OvsdbSchemaError, before sending, for unknown names.
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
    const reply = transactReplySchema.parse(await this.request("transact", [database, ...operations]));
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
    const { form, initial } = await this.sendMonitor(monitor);
    monitor.apply(initial, form, false);
    this.monitors.set(monitor.id, monitor);
    monitor.cancelHook = async () => {
      if (!this.monitors.delete(monitor.id)) return;
      await this.request("monitor_cancel", [monitor.id]);
    };
    return monitor;
  }

  private async sendMonitor(monitor: OvsdbMonitor): Promise<{ form: 1 | 2; initial: unknown }> {
    const requests: Record<string, Record<string, unknown>> = {};
    for (const [table, request] of Object.entries(monitor.requests)) {
      const wire: Record<string, unknown> = {};
      if (request.columns) wire.columns = request.columns;
      if (request.select) wire.select = request.select;
      if (monitor.conditional && request.where) wire.where = request.where;
      requests[table] = wire;
    }
    const method = monitor.conditional ? "monitor_cond" : "monitor";
    const initial = await this.request(method, [monitor.database, monitor.id, requests]);
    return { form: monitor.conditional ? 2 : 1, initial };
  }

  /**
   * Requests a lock (RFC 7047 §4.1.8). Resolves true when granted now; false when queued, in
   * which case a "locked" event follows when it is granted.
   */
  async lock(lockId: string): Promise<boolean> {
    checkLockId(lockId);
    const reply = lockReply.parse(await this.request("lock", [lockId]));
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

  /** Closes the connection for good; pending requests fail with OvsdbConnectionError. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.connection?.close();
    this.emit("close");
  }

  private onNotification(method: string, params: unknown): void {
    const args = Array.isArray(params) ? params : [];
    if (method === "update" || method === "update2") {
      const monitor = this.monitors.get(String(args[0]));
      monitor?.apply(args[1], method === "update" ? 1 : 2);
    } else if (method === "locked" || method === "stolen") {
      this.emit(method, String(args[0]));
    }
  }
}
