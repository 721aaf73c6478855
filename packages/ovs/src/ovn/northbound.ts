// Typed operations on the OVN northbound database (ovn-nb(5)) over the OVSDB client, without
// `ovn-nbctl`: logical switches, their ports (addresses, port security, localnet) and ACLs. Each
// write is one transaction; many ports go into one. Everything created carries
// external_ids:vmnet-owner, as the Vswitch's rows do. Ports and ACLs are non-root tables: the
// server deletes them once no switch refers to them, so removing them is one mutate of the switches.
import { z } from "zod";
import { OvsAlreadyExistsError, OvsNotFoundError, OvsTimeoutError, parseInput } from "../errors.js";
import { OvsdbClient, type OvsdbClientOptions } from "../ovsdb/client.js";
import { OvsdbError } from "../ovsdb/errors.js";
import { type Condition, map, namedUuid, type Operation, type Row, set, uuid } from "../ovsdb/operations.js";
import { OWNER_KEY } from "../vswitch/context.js";
import {
  type AclSpec,
  aclSpec,
  type LocalnetPortSpec,
  type LogicalPortSpec,
  type LogicalSwitchSpec,
  localnetPortSpec,
  logicalSwitchSpec,
  nameSchema,
  portListSchema,
  type SyncOptions,
  syncOptions,
} from "./inputs.js";
import {
  type AclInfo,
  aclInfo,
  type LogicalPortInfo,
  type LogicalSwitchInfo,
  portInfo,
  switchInfo,
} from "./records.js";

export const NORTHBOUND_DATABASE = "OVN_Northbound";

const ownerSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'");

export interface NorthboundOptions {
  /** Value of external_ids:vmnet-owner on everything created (default "vmnet"). */
  readonly owner?: string;
}

export interface WaitUpOptions {
  /** Give up after this long (default 30 s) with OvsTimeoutError naming the ports still waited for. */
  readonly timeoutMs?: number;
  /** Wait for `up == false` instead (ports released by their chassis). */
  readonly up?: boolean;
}

export class OvnNorthbound {
  readonly owner: string;

  constructor(
    /** A client whose database is OVN_Northbound (or that names it per call: this class does). */
    readonly client: OvsdbClient,
    options: NorthboundOptions = {},
  ) {
    this.owner = parseInput(ownerSchema, options.owner ?? "vmnet", "owner");
  }

  /** Connects to a northbound ovsdb-server (`unix:/path`, `tcp:host:port`). */
  static async connect(
    remote: string,
    options: NorthboundOptions & { client?: OvsdbClientOptions } = {},
  ): Promise<OvnNorthbound> {
    const client = await OvsdbClient.connect(remote, { ...options.client, database: NORTHBOUND_DATABASE });
    try {
      return new OvnNorthbound(client, options);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  close(): void {
    this.client.close();
  }

  /** One transaction on the northbound database. */
  transact(operations: readonly Operation[]) {
    return this.client.transact(operations, { database: NORTHBOUND_DATABASE });
  }

  private ids(extra: Record<string, string> | undefined): Record<string, string> {
    return { ...extra, [OWNER_KEY]: this.owner };
  }

  private async select(table: string, where: Condition[] = []) {
    const [result] = await this.transact([{ op: "select", table, where }]);
    return (result?.rows ?? []) as Row[];
  }

  /** Creates the one NB_Global row when the database has none (as `ovn-nbctl init` does). */
  async init(): Promise<void> {
    if ((await this.select("NB_Global")).length > 0) return;
    await this.transact([
      { op: "wait", table: "NB_Global", where: [], columns: ["nb_cfg"], until: "==", rows: [], timeout: 0 },
      { op: "insert", table: "NB_Global", row: {} },
    ]).catch((error: unknown) => {
      // Someone else created it between our read and our insert: that is what we wanted.
      if (!(error instanceof OvsdbError && error.error === "timed out")) throw error;
    });
  }

  // ---- logical switches ----

  async addLogicalSwitch(input: LogicalSwitchSpec): Promise<LogicalSwitchInfo> {
    const spec = parseInput(logicalSwitchSpec, input, "logicalSwitch");
    const existing = await this.getLogicalSwitch(spec.name);
    if (existing) {
      if (spec.mayExist) return existing;
      throw new OvsAlreadyExistsError("logical switch", spec.name);
    }
    const results = await this.transact([
      // Names are not indexed in this table: the wait keeps two creators from making two.
      {
        op: "wait",
        table: "Logical_Switch",
        where: [["name", "==", spec.name]],
        columns: ["name"],
        until: "==",
        rows: [],
        timeout: 0,
      },
      {
        op: "insert",
        table: "Logical_Switch",
        row: {
          name: spec.name,
          other_config: map(spec.otherConfig ?? {}),
          external_ids: map(this.ids(spec.externalIds)),
        },
      },
    ]).catch((error: unknown) => {
      if (error instanceof OvsdbError && error.operationIndex === 0)
        throw new OvsAlreadyExistsError("logical switch", spec.name);
      throw error;
    });
    const id = (results[1]?.uuid as [string, string] | undefined)?.[1] ?? "";
    return (await this.getLogicalSwitch(spec.name)) ?? switchInfo(id, { name: spec.name });
  }

  /** Deletes a logical switch; its ports and ACLs go with it. */
  async deleteLogicalSwitch(name: string, options: { ifExists?: boolean } = {}): Promise<boolean> {
    parseInput(nameSchema, name, "name");
    const [result] = await this.transact([
      { op: "delete", table: "Logical_Switch", where: [["name", "==", name]] },
    ]);
    if ((result?.count ?? 0) === 0 && !options.ifExists) throw new OvsNotFoundError("logical switch", name);
    return (result?.count ?? 0) > 0;
  }

  async listLogicalSwitches(): Promise<LogicalSwitchInfo[]> {
    return (await this.select("Logical_Switch")).map((row) => switchInfo(rowUuid(row), row));
  }

  async getLogicalSwitch(name: string): Promise<LogicalSwitchInfo | undefined> {
    const [row] = await this.select("Logical_Switch", [["name", "==", name]]);
    return row ? switchInfo(rowUuid(row), row) : undefined;
  }

  // ---- logical switch ports ----

  /**
   * Adds ports to a switch in ONE transaction (all or none). A name already used by any port
   * fails the whole transaction with OvsAlreadyExistsError.
   */
  async addLogicalPorts(switchName: string, input: readonly LogicalPortSpec[]): Promise<void> {
    parseInput(nameSchema, switchName, "switch");
    const specs = parseInput(portListSchema, input, "ports");
    const names = new Set<string>();
    for (const [i, spec] of specs.entries()) {
      if (names.has(spec.name))
        throw new OvsAlreadyExistsError("logical port", spec.name, `given twice (ports[${i}])`);
      names.add(spec.name);
    }
    if (specs.length === 0) return;
    const operations: Operation[] = [
      // The switch must exist, or nothing is inserted.
      {
        op: "wait",
        table: "Logical_Switch",
        where: [["name", "==", switchName]],
        columns: ["name"],
        until: "!=",
        rows: [],
        timeout: 0,
      },
    ];
    specs.forEach((spec, i) => {
      const row: Row = {
        name: spec.name,
        type: spec.type ?? "",
        addresses: set(spec.addresses ?? []),
        port_security: set(spec.portSecurity ?? []),
        options: map(spec.options ?? {}),
        external_ids: map(this.ids(spec.externalIds)),
      };
      if (spec.tagRequest !== undefined) row.tag_request = spec.tagRequest;
      if (spec.enabled !== undefined) row.enabled = spec.enabled;
      operations.push({ op: "insert", table: "Logical_Switch_Port", row, "uuid-name": `lsp${i}` });
    });
    operations.push({
      op: "mutate",
      table: "Logical_Switch",
      where: [["name", "==", switchName]],
      mutations: [["ports", "insert", set(specs.map((_, i) => namedUuid(`lsp${i}`)))]],
    });
    try {
      await this.transact(operations);
    } catch (error) {
      if (error instanceof OvsdbError && error.operationIndex === 0)
        throw new OvsNotFoundError("logical switch", switchName);
      if (error instanceof OvsdbError && error.error === "constraint violation")
        throw new OvsAlreadyExistsError(
          "logical port",
          specs.length === 1 ? (specs[0]?.name ?? "") : "(one of the ports)",
          String(error.details ?? ""),
        );
      throw error;
    }
  }

  async addLogicalPort(switchName: string, spec: LogicalPortSpec): Promise<void> {
    await this.addLogicalPorts(switchName, [spec]);
  }

  /**
   * A localnet port: the switch's way out to a physical network, bridged on each chassis by its
   * `ovn-bridge-mappings` (network name → OVS bridge).
   */
  async addLocalnetPort(switchName: string, input: LocalnetPortSpec): Promise<void> {
    const spec = parseInput(localnetPortSpec, input, "localnetPort");
    await this.addLogicalPorts(switchName, [
      {
        name: spec.name,
        type: "localnet",
        addresses: ["unknown"],
        options: { network_name: spec.network },
        ...(spec.vlan !== undefined ? { tagRequest: spec.vlan } : {}),
        ...(spec.externalIds ? { externalIds: spec.externalIds } : {}),
      },
    ]);
  }

  /** Deletes ports by name in ONE transaction; names that do not exist fail unless `ifExists`. */
  async deleteLogicalPorts(names: readonly string[], options: { ifExists?: boolean } = {}): Promise<number> {
    for (const [i, name] of names.entries()) parseInput(nameSchema, name, `names[${i}]`);
    if (names.length === 0) return 0;
    const wanted = new Set(names);
    const rows = (await this.select("Logical_Switch_Port")).filter((row) => wanted.has(String(row.name)));
    if (rows.length < wanted.size && !options.ifExists) {
      const found = new Set(rows.map((row) => String(row.name)));
      throw new OvsNotFoundError("logical port", names.find((n) => !found.has(n)) ?? "");
    }
    if (rows.length === 0) return 0;
    const uuids = rows.map((row) => uuid(rowUuid(row)));
    await this.transact([
      { op: "mutate", table: "Logical_Switch", where: [], mutations: [["ports", "delete", set(uuids)]] },
    ]);
    return rows.length;
  }

  async deleteLogicalPort(name: string, options: { ifExists?: boolean } = {}): Promise<boolean> {
    return (await this.deleteLogicalPorts([name], options)) > 0;
  }

  /** Ports with the switch each belongs to (all switches, or one). */
  async listLogicalPorts(switchName?: string): Promise<LogicalPortInfo[]> {
    const [switches, ports] = await this.transact([
      {
        op: "select",
        table: "Logical_Switch",
        where: switchName ? [["name", "==", switchName]] : [],
        columns: ["_uuid", "name", "ports"],
      },
      { op: "select", table: "Logical_Switch_Port", where: [] },
    ]);
    const switchOf = new Map<string, string>();
    for (const row of (switches?.rows ?? []) as Row[])
      for (const port of switchInfo(rowUuid(row), row).portUuids) switchOf.set(port, String(row.name));
    const out: LogicalPortInfo[] = [];
    for (const row of (ports?.rows ?? []) as Row[]) {
      const id = rowUuid(row);
      const owner = switchOf.get(id);
      if (switchName !== undefined && owner === undefined) continue;
      out.push(portInfo(id, row, owner));
    }
    return out;
  }

  async getLogicalPort(name: string): Promise<LogicalPortInfo | undefined> {
    return (await this.listLogicalPorts()).find((port) => port.name === name);
  }

  /**
   * Resolves once every named port's `up` (set by ovn-northd when ovn-controller on some chassis
   * has bound it) is true, or false with `{ up: false }`. Fed by a monitor: no polling.
   */
  async waitPortsUp(names: readonly string[], options: WaitUpOptions = {}): Promise<void> {
    const want = options.up ?? true;
    const pending = new Set(names);
    if (pending.size === 0) return;
    const monitor = await this.client.monitor(
      { Logical_Switch_Port: { columns: ["name", "up"] } },
      { database: NORTHBOUND_DATABASE },
    );
    const check = () => {
      for (const row of monitor.rows("Logical_Switch_Port").values()) {
        const up = portInfo("", row, undefined).up;
        if (up === want) pending.delete(String(row.name));
      }
      return pending.size === 0;
    };
    const timeoutMs = options.timeoutMs ?? 30_000;
    try {
      if (check()) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          monitor.off("change", onChange);
          const left = [...pending];
          reject(
            new OvsTimeoutError(
              `${left.length} logical port(s) not ${want ? "up" : "down"} after ${timeoutMs} ms: ${left.slice(0, 5).join(", ")}${left.length > 5 ? ", ..." : ""}`,
              timeoutMs,
            ),
          );
        }, timeoutMs);
        const onChange = () => {
          if (!check()) return;
          clearTimeout(timer);
          monitor.off("change", onChange);
          resolve();
        };
        monitor.on("change", onChange);
      });
    } finally {
      await monitor.cancel().catch(() => {});
    }
  }

  /**
   * What `ovn-nbctl --wait=hv sync` does, over this client: bumps NB_Global.nb_cfg and resolves
   * once ovn-northd (wait "sb") or also every chassis (wait "hv", the default) reports having
   * processed that sequence number (NB_Global.sb_cfg / hv_cfg, fed by a monitor). Everything
   * committed before the call is then realised as far as that level. Returns the number waited for.
   */
  async sync(input: SyncOptions = {}): Promise<number> {
    const options = parseInput(syncOptions, input, "sync");
    const column = options.wait === "sb" ? "sb_cfg" : "hv_cfg";
    const [, selected] = await this.transact([
      { op: "mutate", table: "NB_Global", where: [], mutations: [["nb_cfg", "+=", 1]] },
      { op: "select", table: "NB_Global", where: [], columns: ["nb_cfg"] },
    ]);
    const rows = (selected?.rows ?? []) as Row[];
    if (rows.length === 0) throw new OvsNotFoundError("row of table", "NB_Global (init() makes it)");
    const target = Number(rows[0]?.nb_cfg);
    const monitor = await this.client.monitor(
      { NB_Global: { columns: [column] } },
      { database: NORTHBOUND_DATABASE },
    );
    const reached = () => {
      for (const row of monitor.rows("NB_Global").values()) if (Number(row[column]) >= target) return true;
      return false;
    };
    const timeoutMs = options.timeoutMs ?? 30_000;
    try {
      if (reached()) return target;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          monitor.off("change", onChange);
          reject(
            new OvsTimeoutError(
              `NB_Global.${column} did not reach nb_cfg ${target} in ${timeoutMs} ms`,
              timeoutMs,
            ),
          );
        }, timeoutMs);
        const onChange = () => {
          if (!reached()) return;
          clearTimeout(timer);
          monitor.off("change", onChange);
          resolve();
        };
        monitor.on("change", onChange);
      });
      return target;
    } finally {
      await monitor.cancel().catch(() => {});
    }
  }

  // ---- ACLs ----

  /** Adds an ACL to a switch (one transaction) and returns its uuid. */
  async addAcl(switchName: string, input: AclSpec): Promise<string> {
    parseInput(nameSchema, switchName, "switch");
    const spec = parseInput(aclSpec, input, "acl");
    const row: Row = {
      direction: spec.direction,
      priority: spec.priority,
      match: spec.match,
      action: spec.action,
      log: spec.log ?? false,
      external_ids: map(this.ids(spec.externalIds)),
    };
    if (spec.name !== undefined) row.name = spec.name;
    try {
      const results = await this.transact([
        {
          op: "wait",
          table: "Logical_Switch",
          where: [["name", "==", switchName]],
          columns: ["name"],
          until: "!=",
          rows: [],
          timeout: 0,
        },
        { op: "insert", table: "ACL", row, "uuid-name": "acl" },
        {
          op: "mutate",
          table: "Logical_Switch",
          where: [["name", "==", switchName]],
          mutations: [["acls", "insert", set([namedUuid("acl")])]],
        },
      ]);
      return (results[1]?.uuid as [string, string] | undefined)?.[1] ?? "";
    } catch (error) {
      if (error instanceof OvsdbError && error.operationIndex === 0)
        throw new OvsNotFoundError("logical switch", switchName);
      throw error;
    }
  }

  /** Removes ACLs from a switch by uuid (one transaction). */
  async deleteAcls(switchName: string, uuids: readonly string[]): Promise<void> {
    parseInput(nameSchema, switchName, "switch");
    if (uuids.length === 0) return;
    await this.transact([
      {
        op: "mutate",
        table: "Logical_Switch",
        where: [["name", "==", switchName]],
        mutations: [["acls", "delete", set(uuids.map((id) => uuid(id)))]],
      },
    ]);
  }

  async listAcls(switchName: string): Promise<AclInfo[]> {
    const ls = await this.getLogicalSwitch(switchName);
    if (!ls) throw new OvsNotFoundError("logical switch", switchName);
    const wanted = new Set(ls.aclUuids);
    return (await this.select("ACL"))
      .filter((row) => wanted.has(rowUuid(row)))
      .map((row) => aclInfo(rowUuid(row), row));
  }

  /** Switches and ports carrying this owner's mark (for reaping). */
  async owned(): Promise<{ switches: LogicalSwitchInfo[]; ports: LogicalPortInfo[] }> {
    const mine = (ids: Record<string, string>) => ids[OWNER_KEY] === this.owner;
    return {
      switches: (await this.listLogicalSwitches()).filter((s) => mine(s.externalIds)),
      ports: (await this.listLogicalPorts()).filter((p) => mine(p.externalIds)),
    };
  }
}

function rowUuid(row: Row): string {
  const value = row._uuid;
  return Array.isArray(value) ? String(value[1]) : "";
}
