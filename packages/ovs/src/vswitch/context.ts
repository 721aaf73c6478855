// What every typed operation shares: the client, the ownership mark, and a commit that can wait
// until ovs-vswitchd has applied the change. Waiting works as ovs-vsctl's does: the transaction
// also increments Open_vSwitch.next_cfg and reads it back; ovs-vswitchd copies next_cfg to cur_cfg
// once it has reconfigured, which a monitor on cur_cfg sees without polling.
import { z } from "zod";
import { OvsError, OvsTimeoutError, parseInput } from "../errors.js";
import type { OvsdbClient } from "../ovsdb/client.js";
import { OvsdbConnectionError } from "../ovsdb/errors.js";
import type { OvsdbMonitor } from "../ovsdb/monitor.js";
import type { Condition, Operation, OperationResult, Row } from "../ovsdb/operations.js";
import { CONFIG_COLUMNS, FOREIGN_REFERENCES } from "./change.js";

/** The external_ids key that marks what vmnet created (with the owner as value). */
export const OWNER_KEY = "vmnet-owner";

export interface WriteOptions {
  /** Wait until ovs-vswitchd has applied the change (cur_cfg caught up). Default: the Vswitch's `wait`. */
  wait?: boolean;
}

export interface VswitchOptions {
  /** Value of external_ids:vmnet-owner on everything created (default "vmnet"). */
  owner?: string;
  /** datapath_type for new bridges that do not name one (the sandbox uses "netdev"). */
  datapathType?: string;
  /** Default for WriteOptions.wait (default true, as ovs-vsctl without --no-wait). */
  wait?: boolean;
  /** How long a waiting write waits for ovs-vswitchd (default 60 s). */
  waitTimeoutMs?: number;
}

const vswitchOptions = z
  .object({
    owner: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
      .optional(),
    datapathType: z.string().min(1, "must not be empty").optional(),
    wait: z.boolean().optional(),
    waitTimeoutMs: z
      .number()
      .int("must be a whole number of milliseconds")
      .positive("must be more than 0 ms")
      .optional(),
  })
  .strict();

export class VswitchContext {
  readonly owner: string;
  readonly datapathType: string | undefined;
  readonly waitByDefault: boolean;
  readonly waitTimeoutMs: number;
  private curCfgMonitor: Promise<OvsdbMonitor> | undefined;

  constructor(
    readonly client: OvsdbClient,
    input: VswitchOptions = {},
  ) {
    const options = parseInput(vswitchOptions, input, "vswitch");
    this.owner = options.owner ?? "vmnet";
    this.datapathType = options.datapathType;
    this.waitByDefault = options.wait ?? true;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 60_000;
  }

  /** external_ids for a new row: the caller's plus the ownership mark. */
  externalIds(extra: Record<string, string> | undefined): Record<string, string> {
    return { ...extra, [OWNER_KEY]: this.owner };
  }

  /** Selects rows (one round trip). */
  async select(table: string, where: Condition[], columns?: string[]): Promise<Row[]> {
    const [result] = await this.client.transact([
      { op: "select", table, where, ...(columns ? { columns } : {}) },
    ]);
    return (result?.rows ?? []) as Row[];
  }

  /** Several selects in one consistent read. */
  async selectMany(queries: { table: string; where: Condition[]; columns?: string[] }[]): Promise<Row[][]> {
    const results = await this.client.transact(queries.map((q) => ({ op: "select" as const, ...q })));
    return results.map((r) => (r.rows ?? []) as Row[]);
  }

  /**
   * The columns a change reads to rebuild a row of `table` in its inverse: `_uuid`, the
   * configuration columns and the references it must refuse, as far as the server's schema has them.
   */
  async configColumns(table: string): Promise<string[]> {
    const schema = await this.client.schema();
    const known = new Set(schema.columns(table));
    const wanted = [...(CONFIG_COLUMNS[table] ?? []), ...(FOREIGN_REFERENCES[table] ?? [])];
    return ["_uuid", ...wanted.filter((column) => known.has(column))];
  }

  /** Commits operations atomically; with wait, resolves only once ovs-vswitchd has applied them. */
  async commit(operations: Operation[], options: WriteOptions = {}): Promise<OperationResult[]> {
    const wait = options.wait ?? this.waitByDefault;
    if (!wait) return this.client.transact(operations);
    const monitor = await this.watchCurCfg();
    const results = await this.client.transact([
      ...operations,
      { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["next_cfg", "+=", 1]] },
      { op: "select", table: "Open_vSwitch", where: [], columns: ["next_cfg"] },
    ]);
    const bump = results[operations.length];
    const row = results[operations.length + 1]?.rows?.[0];
    if (bump?.count !== 1 || typeof row?.next_cfg !== "number") {
      throw new OvsError(
        "the database has no Open_vSwitch row, so no ovs-vswitchd can apply changes (run ovs-vsctl init)",
      );
    }
    await this.waitApplied(monitor, row.next_cfg);
    return results.slice(0, operations.length);
  }

  /** Resolves when Open_vSwitch.cur_cfg reaches `target`. */
  async waitApplied(monitor: OvsdbMonitor, target: number): Promise<void> {
    const current = () => {
      for (const row of monitor.rows("Open_vSwitch").values()) {
        if (typeof row.cur_cfg === "number") return row.cur_cfg;
      }
      return 0;
    };
    if (current() >= target) return;
    await new Promise<void>((resolve, reject) => {
      const onChange = () => {
        if (current() >= target) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new OvsTimeoutError(
            `ovs-vswitchd did not apply configuration ${target} within ${this.waitTimeoutMs} ms (cur_cfg is ${current()}): is ovs-vswitchd running?`,
            this.waitTimeoutMs,
          ),
        );
      }, this.waitTimeoutMs);
      // A lost connection ends the wait at once with the connection's own error: ovs-vswitchd
      // may well apply the change, but nobody can see it, and blaming it after 60 s would mislead.
      const onDisconnect = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onClose = () => {
        cleanup();
        reject(
          new OvsdbConnectionError(
            `the client for ${this.client.remote} was closed while waiting for ovs-vswitchd`,
            this.client.remote,
          ),
        );
      };
      const cleanup = () => {
        clearTimeout(timer);
        monitor.off("change", onChange);
        this.client.off("disconnect", onDisconnect);
        this.client.off("close", onClose);
      };
      this.client.on("disconnect", onDisconnect);
      this.client.on("close", onClose);
      monitor.on("change", onChange);
      if (!this.client.isConnected)
        onDisconnect(new OvsdbConnectionError(`not connected to ${this.client.remote}`, this.client.remote));
    });
  }

  private watchCurCfg(): Promise<OvsdbMonitor> {
    if (!this.curCfgMonitor) {
      this.curCfgMonitor = this.client.monitor({ Open_vSwitch: { columns: ["cur_cfg", "next_cfg"] } });
      this.curCfgMonitor.catch(() => {
        this.curCfgMonitor = undefined;
      });
    }
    return this.curCfgMonitor;
  }

  async dispose(): Promise<void> {
    const monitor = this.curCfgMonitor;
    this.curCfgMonitor = undefined;
    if (monitor && this.client.isConnected) await (await monitor).cancel().catch(() => {});
  }
}
