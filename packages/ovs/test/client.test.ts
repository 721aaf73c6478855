// The OVSDB client against a real ovsdb-server (no ovs-vswitchd needed): every operation kind,
// errors that say which operation failed, schema checks, monitors of both forms, locks, echo, the
// inactivity probe and reconnection.
import { setTimeout as sleep } from "node:timers/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  atomsOf,
  ovsdbMap as map,
  ovsdbNamedUuid as namedUuid,
  type Operation,
  OvsdbClient,
  OvsdbConnectionError,
  OvsdbError,
  OvsdbRpcError,
  OvsdbSchemaError,
  recordOf,
  ovsdbSet as set,
  ovsdbUuid as uuid,
  uuidOf,
  uuidsOf,
} from "../src/index.js";
import { BareServer } from "./helpers.js";

describePrivileged("OVSDB client", () => {
  let server: BareServer;
  let client: OvsdbClient;
  beforeAll(async () => {
    server = await BareServer.create();
    client = await OvsdbClient.connect(server.unix);
    await client.transact([{ op: "insert", table: "Open_vSwitch", row: {} }]);
  });
  afterAll(async () => {
    client?.close();
    await server?.destroy();
  });

  test("insert with named-uuid, select, update, mutate, delete, comment in transactions", async () => {
    const [, , bridge] = await client.transact([
      { op: "insert", table: "Interface", "uuid-name": "i", row: { name: "c1", type: "internal" } },
      { op: "insert", table: "Port", "uuid-name": "p", row: { name: "c1", interfaces: namedUuid("i") } },
      {
        op: "insert",
        table: "Bridge",
        "uuid-name": "b",
        row: { name: "c1", ports: namedUuid("p"), other_config: map({ a: "1", b: "2" }) },
      },
      { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "insert", namedUuid("b")]] },
      { op: "comment", comment: "vmnet test" },
    ]);
    const bridgeId = uuidOf(bridge?.uuid);
    expect(bridgeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await server.vsctl("get", "Bridge", "c1", "other_config")).toBe('{a="1", b="2"}');

    const [updated] = await client.transact([
      { op: "update", table: "Bridge", where: [["name", "==", "c1"]], row: { fail_mode: "secure" } },
    ]);
    expect(updated?.count).toBe(1);
    const [mutated] = await client.transact([
      {
        op: "mutate",
        table: "Bridge",
        where: [["_uuid", "==", uuid(bridgeId as string)]],
        mutations: [
          ["other_config", "delete", set(["a"])],
          ["other_config", "insert", map({ c: "3" })],
        ],
      },
    ]);
    expect(mutated?.count).toBe(1);
    const [selected] = await client.transact([
      {
        op: "select",
        table: "Bridge",
        where: [["name", "==", "c1"]],
        columns: ["fail_mode", "other_config"],
      },
    ]);
    expect(selected?.rows).toEqual([
      {
        fail_mode: "secure",
        other_config: [
          "map",
          [
            ["b", "2"],
            ["c", "3"],
          ],
        ],
      },
    ]);
    expect(await server.vsctl("get", "Bridge", "c1", "fail_mode")).toBe("secure");

    // Port and Interface are not root tables: dropping the reference garbage-collects them.
    const [, deleted] = await client.transact([
      {
        op: "mutate",
        table: "Open_vSwitch",
        where: [],
        mutations: [["bridges", "delete", set([uuid(bridgeId as string)])]],
      },
      { op: "delete", table: "Bridge", where: [["name", "==", "c1"]] },
    ]);
    expect(deleted?.count).toBe(1);
    expect(await server.vsctl("list-br")).toBe("");
    expect(await server.vsctl("--columns=name", "find", "Interface", "name=c1")).toBe("");
  });

  test("a failing operation gives OvsdbError with its index and the database is unchanged", async () => {
    const operations: Operation[] = [
      { op: "insert", table: "Interface", "uuid-name": "i", row: { name: "bad0" } },
      { op: "insert", table: "Port", row: { name: "bad0", interfaces: namedUuid("i"), tag: 5000 } },
    ];
    const error = await client.transact(operations).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OvsdbError);
    const e = error as OvsdbError;
    expect(e.operationIndex).toBe(1);
    expect(e.error).toBe("constraint violation");
    expect(e.details).toMatch(/5000/);
    expect(e.transaction).toBe(operations);
    expect(e.message).toMatch(/operation 1 \(insert Port\): constraint violation/);
    expect(await server.vsctl("--columns=name", "find", "Interface", "name=bad0")).toBe("");
  });

  test("a commit-time failure (unreferenced row, duplicate index) points past the last operation", async () => {
    const error = (await client
      .transact([
        { op: "insert", table: "Interface", "uuid-name": "a", row: { name: "dup" } },
        { op: "insert", table: "Interface", "uuid-name": "b", row: { name: "dup" } },
        {
          op: "insert",
          table: "Port",
          "uuid-name": "p",
          row: { name: "dup", interfaces: set([namedUuid("a"), namedUuid("b")]) },
        },
        { op: "insert", table: "Bridge", "uuid-name": "br", row: { name: "dup", ports: namedUuid("p") } },
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [["bridges", "insert", namedUuid("br")]],
        },
      ])
      .catch((e: unknown) => e)) as OvsdbError;
    expect(error).toBeInstanceOf(OvsdbError);
    expect(error.operationIndex).toBe(5);
    expect(error.error).toBe("constraint violation");
    expect(error.message).toMatch(/at commit/);
    expect(await server.vsctl("list-br")).toBe("");
  });

  test("wait and assert guard a transaction", async () => {
    const wait = (await client
      .transact([
        {
          op: "wait",
          table: "Open_vSwitch",
          where: [],
          columns: ["next_cfg"],
          until: "==",
          rows: [{ next_cfg: 999 }],
          timeout: 0,
        },
        { op: "update", table: "Open_vSwitch", where: [], row: { external_ids: map({ guarded: "yes" }) } },
      ])
      .catch((e: unknown) => e)) as OvsdbError;
    expect(wait).toBeInstanceOf(OvsdbError);
    expect(wait.operationIndex).toBe(0);
    expect(wait.error).toBe("timed out");
    expect(await server.vsctl("get", "Open_vSwitch", ".", "external_ids")).toBe("{}");

    const assert = (await client
      .transact([{ op: "assert", lock: "nobody_holds_this" }])
      .catch((e: unknown) => e)) as OvsdbError;
    expect(assert.error).toBe("not owner");
  });

  test("unknown tables and columns are refused before sending", async () => {
    await expect(client.transact([{ op: "select", table: "Brigde", where: [] }])).rejects.toThrow(
      OvsdbSchemaError,
    );
    const error = (await client
      .transact([{ op: "insert", table: "Bridge", row: { name: "x", colour: "red" } }])
      .catch((e: unknown) => e)) as OvsdbSchemaError;
    expect(error).toBeInstanceOf(OvsdbSchemaError);
    expect(error.message).toBe('column "colour" is not in table Bridge of database Open_vSwitch');
    expect(error.column).toBe("colour");
    await expect(
      client.transact([{ op: "update", table: "Bridge", where: [], row: { _uuid: uuid("x") } }]),
    ).rejects.toThrow(/cannot be written/);
    // Without validation the server itself refuses, as an OvsdbError.
    await expect(
      client.transact([{ op: "select", table: "Brigde", where: [] }], { validate: false }),
    ).rejects.toThrow(OvsdbError);
    await expect(client.transact([], { database: "nope" })).rejects.toThrow(OvsdbRpcError);
  });

  test("schema and databases", async () => {
    expect(await client.listDatabases()).toContain("Open_vSwitch");
    const schema = await client.schema();
    expect(schema.name).toBe("Open_vSwitch");
    expect(schema.columnKind("Port", "tag")).toBe("scalar");
    expect(schema.columnKind("Port", "trunks")).toBe("set");
    expect(schema.columnKind("Bridge", "name")).toBe("scalar");
    expect(schema.columnKind("Bridge", "external_ids")).toBe("map");
  });

  for (const conditional of [false, true]) {
    test(`monitor${conditional ? "_cond (update2 diffs)" : " (update)"} keeps a replica equal to select`, async () => {
      const name = conditional ? "mc2" : "mc1";
      const monitor = await client.monitor(
        {
          Port: {
            columns: ["name", "tag", "trunks", "external_ids"],
            ...(conditional ? { where: [["name", "==", name]] } : {}),
          },
        },
        { conditional },
      );
      const seen: string[] = [];
      monitor.on("change", (changes) => {
        for (const c of changes) seen.push(c.old ? (c.new ? "modify" : "delete") : "insert");
      });
      const settle = async () => {
        await client.echo();
        await sleep(50);
      };
      await client.transact([
        { op: "insert", table: "Interface", "uuid-name": "i", row: { name } },
        {
          op: "insert",
          table: "Port",
          "uuid-name": "p",
          row: {
            name,
            interfaces: namedUuid("i"),
            tag: 10,
            trunks: set([1, 2]),
            external_ids: map({ k: "v", x: "y" }),
          },
        },
        { op: "insert", table: "Bridge", "uuid-name": "b", row: { name, ports: namedUuid("p") } },
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [["bridges", "insert", namedUuid("b")]],
        },
      ]);
      await client.transact([
        { op: "update", table: "Port", where: [["name", "==", name]], row: { tag: 20, trunks: set([2, 3]) } },
        {
          op: "mutate",
          table: "Port",
          where: [["name", "==", name]],
          mutations: [
            ["external_ids", "delete", set(["x"])],
            ["external_ids", "insert", map({ n: "1" })],
          ],
        },
      ]);
      await client.transact([
        {
          op: "update",
          table: "Port",
          where: [["name", "==", name]],
          row: { external_ids: map({ k: "changed", n: "1" }) },
        },
      ]);
      await settle();
      const [selected] = await client.transact([
        {
          op: "select",
          table: "Port",
          where: [["name", "==", name]],
          columns: ["_uuid", "tag", "trunks", "external_ids"],
        },
      ]);
      const row = selected?.rows?.[0] as Record<string, unknown>;
      const replica = monitor.row("Port", uuidOf(row._uuid) as string);
      expect(replica?.tag).toBe(20);
      expect(atomsOf(replica?.trunks).slice().sort()).toEqual([2, 3]);
      expect(recordOf(replica?.external_ids)).toEqual({ k: "changed", n: "1" });
      expect(seen).toEqual(["insert", "modify", "modify"]);

      const bridge = await client.transact([
        { op: "select", table: "Bridge", where: [["name", "==", name]], columns: ["_uuid"] },
      ]);
      await client.transact([
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [["bridges", "delete", set(uuidsOf(bridge[0]?.rows?.[0]?._uuid).map(uuid))]],
        },
      ]);
      await settle();
      expect(monitor.rows("Port").has(uuidOf(row._uuid) as string)).toBe(false);
      expect(seen.at(-1)).toBe("delete");
      await monitor.cancel();
    });
  }

  test("locks: granted, queued, asserted, handed over on unlock", async () => {
    const other = await OvsdbClient.connect(server.tcp);
    try {
      expect(await client.lock("vmnet_lock")).toBe(true);
      expect(await other.lock("vmnet_lock")).toBe(false);
      await expect(other.transact([{ op: "assert", lock: "vmnet_lock" }])).rejects.toThrow(/not owner/);
      await client.transact([{ op: "assert", lock: "vmnet_lock" }]);
      const granted = new Promise<string>((resolve) => other.once("locked", resolve));
      await client.unlock("vmnet_lock");
      expect(await granted).toBe("vmnet_lock");
      await other.transact([{ op: "assert", lock: "vmnet_lock" }]);
    } finally {
      other.close();
    }
  });

  test("lock ids are checked before sending", async () => {
    await expect(client.lock("bad-id")).rejects.toThrow(/lockId is invalid: "bad-id" must use letters/);
  });

  test("echo is answered", async () => {
    expect(await client.echo("ping", 1)).toEqual(["ping", 1]);
  });

  test("a frozen server is detected by the inactivity probe, not waited on forever", async () => {
    const probed = await OvsdbClient.connect(server.unix, { probeIntervalMs: 200, reconnect: false });
    await server.kill("SIGSTOP");
    try {
      const started = Date.now();
      const error = await probed
        .transact([{ op: "select", table: "Bridge", where: [] }])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OvsdbConnectionError);
      expect((error as Error).message).toMatch(/did not answer an echo within 200 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await server.kill("SIGCONT");
      probed.close();
    }
  });

  test("a server killed mid-transaction: typed error, nothing committed, reconnect re-monitors", async () => {
    const victim = await OvsdbClient.connect(server.unix, { reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    const monitor = await victim.monitor({ Bridge: { columns: ["name"] } });
    // The wait blocks the transaction on the server (until next_cfg is 12345), so the kill lands
    // while it is in flight and before anything could be committed.
    const pending = victim
      .transact([
        {
          op: "wait",
          table: "Open_vSwitch",
          where: [],
          columns: ["next_cfg"],
          until: "==",
          rows: [{ next_cfg: 12345 }],
          timeout: 30_000,
        },
        { op: "insert", table: "Interface", "uuid-name": "i", row: { name: "midtx" } },
        { op: "insert", table: "Port", "uuid-name": "p", row: { name: "midtx", interfaces: namedUuid("i") } },
        { op: "insert", table: "Bridge", "uuid-name": "b", row: { name: "midtx", ports: namedUuid("p") } },
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [["bridges", "insert", namedUuid("b")]],
        },
      ])
      .catch((e: unknown) => e);
    await sleep(100);
    const disconnected = new Promise((resolve) => victim.once("disconnect", resolve));
    await server.kill("SIGKILL");
    const error = await pending;
    expect(error).toBeInstanceOf(OvsdbConnectionError);
    await disconnected;
    await expect(victim.transact([{ op: "select", table: "Bridge", where: [] }])).rejects.toThrow(
      /not connected|reconnecting/,
    );

    const reconnected = new Promise<void>((resolve) => victim.once("reconnect", () => resolve()));
    await server.start();
    await reconnected;
    expect(await server.vsctl("list-br")).not.toContain("midtx");
    // The monitor is live again: a bridge added by someone else shows up in its replica.
    await server.vsctl("add-br", "afterkill");
    await victim.echo();
    await sleep(100);
    expect([...monitor.rows("Bridge").values()].map((r) => r.name)).toContain("afterkill");
    victim.close();
    client.close();
    client = await OvsdbClient.connect(server.unix);
  });

  test("nobody listening is a clear error", async () => {
    await expect(OvsdbClient.connect("unix:/nonexistent/db.sock")).rejects.toThrow(
      /cannot connect to unix:\/nonexistent\/db.sock/,
    );
  });
});
