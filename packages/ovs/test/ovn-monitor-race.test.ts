// Seen with OVN: ovn-northd sets Logical_Switch_Port.up right as a waiter's monitor starts, and
// ovsdb-server sends the monitor's reply and that first update in one write. The update used to be
// dropped (the monitor was registered only after its reply was handled), so waitPortsUp waited
// forever for a port that was up. A fake server sends both in one write, deterministically.
import { afterEach, expect, test } from "vitest";
import { OvsdbClient } from "../src/index.js";
import { FakeOvsdb, politeAnswer } from "./fake-ovsdb.js";

let fake: FakeOvsdb | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

test("an update that arrives in the same read as the monitor's reply is applied, not lost", async () => {
  fake = await FakeOvsdb.start((request, socket) => {
    if (request.method !== "monitor") return politeAnswer(request);
    const [, monitorId] = request.params as [string, string];
    const reply = { id: request.id, error: null, result: { Bridge: { "u-1": { new: { name: "before" } } } } };
    const update = {
      id: null,
      method: "update",
      params: [monitorId, { Bridge: { "u-1": { old: { name: "before" }, new: { name: "after" } } } }],
    };
    socket.write(JSON.stringify(reply) + JSON.stringify(update));
    return undefined;
  });
  const client = await OvsdbClient.connect(fake.remote, { reconnect: false });
  try {
    const monitor = await client.monitor({ Bridge: { columns: ["name"] } });
    expect(monitor.row("Bridge", "u-1")).toEqual({ name: "after" });
    await monitor.cancel().catch(() => {});
  } finally {
    client.close();
  }
});

test("after a reconnect, an update that comes with the re-issued monitor's reply is not undone by the resync", async () => {
  fake = await FakeOvsdb.start((request, socket, connection) => {
    if (request.method !== "monitor") return politeAnswer(request);
    const [, monitorId] = request.params as [string, string];
    const reply = (name: string) => ({
      id: request.id,
      error: null,
      result: { Bridge: { "u-1": { new: { name } } } },
    });
    if (connection === 1) return reply("first");
    const update = {
      id: null,
      method: "update",
      params: [monitorId, { Bridge: { "u-1": { old: { name: "second" }, new: { name: "third" } } } }],
    };
    socket.write(JSON.stringify(reply("second")) + JSON.stringify(update));
    return undefined;
  });
  const client = await OvsdbClient.connect(fake.remote, { reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
  try {
    const monitor = await client.monitor({ Bridge: { columns: ["name"] } });
    expect(monitor.row("Bridge", "u-1")).toEqual({ name: "first" });
    const back = new Promise<void>((resolve) => client.once("reconnect", () => resolve()));
    fake.dropAll();
    await back;
    expect(monitor.row("Bridge", "u-1")).toEqual({ name: "third" });
  } finally {
    client.close();
  }
});
