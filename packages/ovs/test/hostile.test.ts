// The client against hostile or broken peers (a fake server written here, since no real
// ovsdb-server misbehaves on purpose): failed connects leave nothing running, reconnecting is one
// bounded loop that close() stops, malformed input becomes a typed error instead of a crash, and
// every request has a deadline.
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterEach, describe, expect, test } from "vitest";
import {
  OvsdbClient,
  OvsdbConnectionError,
  OvsdbProtocolError,
  OvsdbTimeoutError,
  OvsError,
  Vswitch,
} from "../src/index.js";
import { FakeOvsdb, liveHandles, openFds, politeAnswer, type RpcRequest } from "./fake-ovsdb.js";
import { BareServer } from "./helpers.js";

let fake: FakeOvsdb | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

/** Waits until the process's fds and socket/timer handles are back to `before` (or the deadline). */
async function settled(fdsBefore: number, handlesBefore: Record<string, number>, ms = 1500) {
  const deadline = Date.now() + ms;
  let fds = openFds();
  let handles = liveHandles();
  while (Date.now() < deadline) {
    fds = openFds();
    handles = liveHandles();
    const extra = ["PipeWrap", "TCPSocketWrap", "Timeout"].some(
      (kind) => (handles[kind] ?? 0) > (handlesBefore[kind] ?? 0),
    );
    if (fds <= fdsBefore && !extra) break;
    await sleep(50);
  }
  return { fds, handles };
}

describe("a failed connect() leaves nothing running", () => {
  test("malformed get_schema reply: one-line OvsdbProtocolError naming the field, one connection, no fds", async () => {
    fake = await FakeOvsdb.start((request) =>
      request.method === "get_schema"
        ? { id: request.id, result: { tables: 7 }, error: null }
        : politeAnswer(request),
    );
    const fdsBefore = openFds();
    const handlesBefore = liveHandles();
    const error = await OvsdbClient.connect(fake.remote, { reconnect: { minDelayMs: 10 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OvsdbProtocolError);
    expect(error).toBeInstanceOf(OvsError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(/get_schema reply.*(name|tables)/);
    await sleep(1000);
    // Before the fix: a reconnect loop per lost connection, thousands of connections a second.
    expect(fake.accepted).toBe(1);
    expect(fake.open).toBe(0);
    const after = await settled(fdsBefore, handlesBefore);
    console.log(
      `malformed get_schema: fds ${fdsBefore} before, ${after.fds} after; connections ${fake.accepted}`,
    );
    expect(after.fds).toBe(fdsBefore);
    expect(after.handles.Timeout ?? 0).toBeLessThanOrEqual(handlesBefore.Timeout ?? 0);
    expect(after.handles.PipeWrap ?? 0).toBeLessThanOrEqual(handlesBefore.PipeWrap ?? 0);
  });

  test("a server that accepts then closes: OvsdbConnectionError, one connection, no fds", async () => {
    fake = await FakeOvsdb.start(() => "close");
    const fdsBefore = openFds();
    const handlesBefore = liveHandles();
    const error = await OvsdbClient.connect(fake.remote, { reconnect: { minDelayMs: 10 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OvsdbConnectionError);
    await sleep(1000);
    expect(fake.accepted).toBe(1);
    expect(fake.open).toBe(0);
    const after = await settled(fdsBefore, handlesBefore);
    console.log(
      `accept-then-close: fds ${fdsBefore} before, ${after.fds} after; connections ${fake.accepted}`,
    );
    expect(after.fds).toBe(fdsBefore);
    expect(after.handles.Timeout ?? 0).toBeLessThanOrEqual(handlesBefore.Timeout ?? 0);
  });
});

describe("reconnecting is one bounded loop per client, stopped by close()", () => {
  test("a server that starts dropping every connection: bounded attempts, nothing after close()", async () => {
    // Connection 1 is served; then the server drops it and every later connection at once.
    fake = await FakeOvsdb.start((request, _socket, connection) =>
      connection === 1 ? politeAnswer(request) : "close",
    );
    const fdsBefore = openFds();
    const client = await OvsdbClient.connect(fake.remote, {
      reconnect: { minDelayMs: 50, maxDelayMs: 1000 },
    });
    const disconnects: Error[] = [];
    client.on("disconnect", (e) => disconnects.push(e));
    const started = Date.now();
    fake.dropAll();
    await sleep(3000);
    const seconds = (Date.now() - started) / 1000;
    const attempts = fake.accepted - 1;
    console.log(
      `refused-reconnect storm: ${attempts} connections in ${seconds.toFixed(1)} s (${(attempts / seconds).toFixed(1)}/s)`,
    );
    // Backoff 50, 100, 200, 400, 800, 1000 ms...: at most 7 attempts in 3 s.
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(7);
    expect(disconnects).toHaveLength(1);
    client.close();
    const atClose = fake.accepted;
    await sleep(1500);
    expect(fake.accepted).toBe(atClose);
    expect(fake.open).toBe(0);
    console.log(`storm: fds ${fdsBefore} before, ${openFds()} after close()`);
    expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  });

  test("close() during the backoff wait stops the loop at once", async () => {
    fake = await FakeOvsdb.start((request, _socket, connection) =>
      connection === 1 ? politeAnswer(request) : "close",
    );
    const handlesBefore = liveHandles();
    const client = await OvsdbClient.connect(fake.remote, { reconnect: { minDelayMs: 5000 } });
    const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
    fake.dropAll();
    await disconnected;
    client.close();
    const after = await settled(openFds(), handlesBefore, 1000);
    expect(after.handles.Timeout ?? 0).toBeLessThanOrEqual(handlesBefore.Timeout ?? 0);
    expect(fake.accepted).toBe(1);
  });

  test("a server that comes back is reconnected to, once", async () => {
    let serving = true;
    fake = await FakeOvsdb.start((request) => (serving ? politeAnswer(request) : "close"));
    const client = await OvsdbClient.connect(fake.remote, { reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    try {
      const reconnects: number[] = [];
      client.on("reconnect", () => reconnects.push(Date.now()));
      serving = false;
      fake.dropAll();
      await sleep(400);
      serving = true;
      await client.ready(3000);
      await sleep(300);
      expect(reconnects).toHaveLength(1);
      expect(fake.open).toBe(1);
      expect(await client.echo("back")).toEqual(["back"]);
    } finally {
      client.close();
    }
  });
});

describe("malformed notifications become typed errors, not crashes", () => {
  for (const [label, payload] of [
    ["a null table", { Bridge: null }],
    ["a null row", { Bridge: { "2d5a3f8e-0000-4000-8000-000000000001": null } }],
    ["a row update that is a string", { Bridge: { "2d5a3f8e-0000-4000-8000-000000000001": "x" } }],
    ["an update that is an array", [1, 2]],
  ] as const) {
    test(`update with ${label}: the client reports OvsdbProtocolError and resynchronises`, async () => {
      let monitorId: unknown;
      fake = await FakeOvsdb.start((request: RpcRequest) => {
        if (request.method === "monitor") monitorId = request.params[1];
        return politeAnswer(request);
      });
      const client = await OvsdbClient.connect(fake.remote, {
        reconnect: { minDelayMs: 20, maxDelayMs: 100 },
      });
      try {
        const monitor = await client.monitor({ Bridge: { columns: ["name"] } });
        const disconnected = new Promise<Error>((resolve) => client.once("disconnect", resolve));
        fake.broadcast({ id: null, method: "update", params: [monitorId, payload] });
        const error = await disconnected;
        expect(error).toBeInstanceOf(OvsdbProtocolError);
        expect(error.message).toMatch(/update/);
        expect(error.message).not.toContain("\n");
        // The replica is rebuilt from a fresh monitor on the next connection.
        await client.ready(3000);
        expect(monitor.rows("Bridge").size).toBe(0);
        expect(await client.echo(1)).toEqual([1]);
      } finally {
        client.close();
      }
    });
  }
});

describe("every request has a deadline", () => {
  test("a reply that never comes", async () => {
    fake = await FakeOvsdb.start((request) =>
      request.method === "echo" ? undefined : politeAnswer(request),
    );
    const client = await OvsdbClient.connect(fake.remote, { requestTimeoutMs: 300, probeIntervalMs: 0 });
    try {
      const started = Date.now();
      const error = await client.echo("x").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OvsdbTimeoutError);
      expect((error as Error).message).toMatch(/echo.*300 ms/);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      client.close();
    }
  });

  test("a reply under an id nobody asked for", async () => {
    fake = await FakeOvsdb.start((request) =>
      request.method === "echo" ? { id: 987654, result: [], error: null } : politeAnswer(request),
    );
    const client = await OvsdbClient.connect(fake.remote, { requestTimeoutMs: 300 });
    try {
      await expect(client.echo("x")).rejects.toBeInstanceOf(OvsdbTimeoutError);
    } finally {
      client.close();
    }
  });

  test("a reply trickling in one byte every 200 ms (which keeps the inactivity probe quiet)", async () => {
    const timers = new Set<NodeJS.Timeout>();
    fake = await FakeOvsdb.start((request, socket) => {
      if (request.method !== "echo") return politeAnswer(request);
      const bytes = Buffer.from(JSON.stringify({ id: request.id, result: ["x".repeat(200)], error: null }));
      let i = 0;
      const timer = setInterval(() => {
        if (i >= bytes.length || socket.destroyed) return clearInterval(timer);
        socket.write(bytes.subarray(i, i + 1));
        i += 1;
      }, 200);
      timers.add(timer);
      return undefined;
    });
    const client = await OvsdbClient.connect(fake.remote, { requestTimeoutMs: 1000, probeIntervalMs: 300 });
    try {
      const started = Date.now();
      await expect(client.echo("x")).rejects.toBeInstanceOf(OvsdbTimeoutError);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      client.close();
      for (const timer of timers) clearInterval(timer);
    }
  });
});

describePrivileged("waiting for ovs-vswitchd notices a lost connection", () => {
  test("wait: true fails at once with the connection error, not after its 60 s timeout", async () => {
    // A bare ovsdb-server (no ovs-vswitchd): cur_cfg never catches up, so only the lost
    // connection can end the wait early.
    const server = await BareServer.create();
    const client = await OvsdbClient.connect(server.unix, { reconnect: { minDelayMs: 50 } });
    try {
      await client.transact([{ op: "insert", table: "Open_vSwitch", row: {} }]);
      const vswitch = new Vswitch(client);
      const started = Date.now();
      const pending = vswitch.addBridge({ name: "lost0" }).catch((e: unknown) => e);
      await sleep(300);
      await server.kill("SIGKILL");
      const error = await Promise.race([pending, sleep(5000, "still waiting")]);
      expect(error).toBeInstanceOf(OvsdbConnectionError);
      expect((error as Error).message).not.toMatch(/ovs-vswitchd did not apply/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      client.close();
      await server.destroy();
    }
  });
});

describe("long-lived use does not leak", () => {
  test("1000 connect/close cycles and 300 failed connects: fds and memory back to where they were", async () => {
    let failing = false;
    fake = await FakeOvsdb.start((request) =>
      failing && request.method === "get_schema"
        ? { id: request.id, result: null, error: null }
        : politeAnswer(request),
    );
    const cycle = async () => {
      const client = await OvsdbClient.connect(fake?.remote as string);
      await client.echo(1);
      client.close();
    };
    for (let i = 0; i < 50; i++) await cycle(); // warm-up (module loading, JIT)
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) await cycle();
    failing = true;
    for (let i = 0; i < 300; i++) {
      await expect(OvsdbClient.connect(fake.remote)).rejects.toBeInstanceOf(OvsdbProtocolError);
    }
    await sleep(200);
    const fdsAfter = openFds();
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    console.log(
      `1000 cycles + 300 failed connects: fds ${fdsBefore} before, ${fdsAfter} after; RSS +${rssGrowthMb.toFixed(1)} MB; server saw ${fake.accepted} connections, ${fake.open} open`,
    );
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
    expect(fake.open).toBe(0);
    expect(fake.accepted).toBe(1350);
    expect(rssGrowthMb).toBeLessThan(40);
  });
});

describe("the process can exit once the caller lets go", () => {
  for (const mode of ["failed-connect", "close-in-backoff"]) {
    test(`${mode}: the process exits by itself within a second`, async () => {
      const dist = new URL("../dist/index.js", import.meta.url);
      expect(existsSync(dist), "the child imports the build: run pnpm build first").toBe(true);
      const script = new URL("./fixtures/exit-after.mjs", import.meta.url).pathname;
      const child = execa("node", [script, mode], { reject: false, timeout: 15_000 });
      const result = await child;
      const released = Number(/released at (\d+)/.exec(String(result.stdout))?.[1]);
      const exitedAt = Date.now();
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(result.timedOut).toBe(false);
      // Before the fix: reconnect loops (failed-connect) or a 5 s backoff timer kept it alive.
      expect(exitedAt - released).toBeLessThan(1500);
    });
  }
});
