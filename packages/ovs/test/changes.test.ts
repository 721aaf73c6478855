// The operation builders against a real sandbox switch: several changes committed as ONE
// transaction, then their combined inverse as one transaction, which must give back exactly the
// configuration that was there (same rows, same uuids), as ovs-vsctl and our snapshot report it.
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { combineChanges, OvsError, OvsSandbox, type SwitchSnapshot } from "../src/index.js";
import { shortName } from "./helpers.js";

/** The configuration part of a snapshot (what a change may touch), without counters and status. */
function configOf(snapshot: SwitchSnapshot) {
  return {
    bridges: snapshot.bridges.map((b) => ({
      uuid: b.uuid,
      name: b.name,
      ports: b.ports,
      mirrors: b.mirrors,
      netflow: b.netflow,
      otherConfig: b.otherConfig,
      externalIds: b.externalIds,
    })),
    ports: snapshot.ports.map((p) => ({
      uuid: p.uuid,
      name: p.name,
      bridge: p.bridge,
      tag: p.tag,
      trunks: p.trunks,
      vlanMode: p.vlanMode,
      interfaces: p.interfaces.map((i) => ({ uuid: i.uuid, name: i.name, type: i.type, options: i.options })),
      externalIds: p.externalIds,
    })),
    mirrors: snapshot.mirrors.map(({ statistics: _s, ...m }) => m),
  };
}

describePrivileged("operation builders and their inverses", () => {
  let ns: TestNetns;
  let sandbox: OvsSandbox;
  const br = shortName("cb");
  const br2 = shortName("cb");
  const p1 = shortName("cp");
  const p2 = shortName("cp");
  const p3 = shortName("cp");
  const out = shortName("co");

  beforeAll(async () => {
    ns = await createNetns("ch");
    sandbox = await OvsSandbox.start({ netns: ns.name });
    const v = sandbox.vswitch;
    await v.addBridge({ name: br, otherConfig: { "mac-aging-time": "30" } });
    await v.addPorts(br, [
      { name: p1, type: "internal", tag: 10 },
      { name: p2, type: "internal", tag: 20 },
      { name: out, type: "internal" },
    ]);
    await v.addMirror(br, { name: "m-old", selectSrcPorts: [p2], outputPort: out });
    await v.setNetflow(br, { targets: ["127.0.0.1:2055"], activeTimeout: 30 });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await ns?.remove();
  });

  test("nine changes in one transaction, undone by their combined inverse in one transaction", async () => {
    const v = sandbox.vswitch;
    const before = configOf(await v.snapshot());
    const changes = [
      await v.changes.addBridge({ name: br2 }),
      await v.changes.addPorts(br, [{ name: p3, type: "internal", tag: 30 }]),
      await v.changes.setPortTag(p1, 11),
      await v.changes.deletePorts([p2]),
      await v.changes.addMirror(br, { name: "m-new", selectAll: true, outputPort: out }),
      await v.changes.deleteMirror(br, "m-old"),
      await v.changes.setNetflow(br, { targets: ["127.0.0.1:9996"], activeTimeout: 5 }),
      await v.changes.setBridgeOtherConfig(br, { "mac-aging-time": "60", "mac-table-size": "4096" }),
      await v.changes.setOtherConfig({ "vlan-limit": "2" }),
    ];
    // Nothing is committed by building.
    expect(configOf(await v.snapshot())).toEqual(before);
    for (const change of changes) {
      expect(change.operations.length).toBeGreaterThan(0);
      expect(change.inverse.length).toBeGreaterThan(0);
    }

    // One transaction (so one next_cfg bump, one reconfiguration): count them.
    const cfg = async () =>
      (
        await v.client.transact([{ op: "select", table: "Open_vSwitch", where: [], columns: ["next_cfg"] }])
      )[0]?.rows?.[0]?.next_cfg;
    const cfgBefore = await cfg();
    const applied = await v.apply(changes);
    expect(await cfg()).toBe((cfgBefore as number) + 1);
    expect(applied.result[0]).toMatch(/^[0-9a-f-]{36}$/);

    const vsctl = async (...args: string[]) =>
      (await execa("ovs-vsctl", [`--db=${sandbox.remote}`, "--no-wait", ...args])).stdout.trim();
    expect((await vsctl("list-br")).split("\n")).toEqual([br, br2].sort());
    expect(await vsctl("get", "Port", p1, "tag")).toBe("11");
    expect(await vsctl("get", "Port", p3, "tag")).toBe("30");
    expect(await vsctl("--columns=name", "find", "Port", `name=${p2}`)).toBe("");
    expect(await vsctl("get", "NetFlow", br, "targets")).toBe('["127.0.0.1:9996"]');
    expect(await vsctl("get", "Bridge", br, "other_config")).toBe(
      '{mac-aging-time="60", mac-table-size="4096"}',
    );
    expect(await vsctl("get", "Open_vSwitch", ".", "other_config:vlan-limit")).toBe('"2"');
    expect((await v.listMirrors(br)).map((m) => m.name)).toEqual(["m-new"]);
    // ovs-vswitchd applied it: the new internal port's device exists in the switch's namespace.
    expect((await ns.ipJson(["link", "show", p3]))[0]?.ifname).toBe(p3);

    await v.transact(applied.inverse);
    const after = configOf(await v.snapshot());
    expect(after).toEqual(before);
    expect(await vsctl("get", "Open_vSwitch", ".", "other_config")).toBe("{}");
    // The deleted port came back under its old uuid, with its interface, and in the old mirror.
    const oldMirror = before.mirrors.find((m) => m.name === "m-old");
    expect(after.mirrors.find((m) => m.name === "m-old")).toEqual(oldMirror);
    expect(oldMirror?.selectSrcPorts).toEqual([p2]);
  });

  test("deleting a whole bridge: the inverse rebuilds ports, interfaces, mirror and NetFlow under their uuids", async () => {
    const v = sandbox.vswitch;
    const before = configOf(await v.snapshot());
    const change = await v.changes.deleteBridge(br);
    await v.transact(change.operations);
    expect((await v.listBridges()).map((b) => b.name)).not.toContain(br);
    expect(await v.listPorts(br)).toEqual([]);
    await v.transact(change.inverse);
    expect(configOf(await v.snapshot())).toEqual(before);
    // ovs-vswitchd made the devices again.
    expect((await ns.ipJson(["link", "show", p1]))[0]?.ifname).toBe(p1);
  });

  test("moving a port and back; combineChanges orders inverses last-first", async () => {
    const v = sandbox.vswitch;
    await v.addBridge({ name: br2 });
    const before = configOf(await v.snapshot());
    const move = await v.changes.movePort(p1, br2);
    const retag = await v.changes.setPortTag(p1, 99);
    const combined = combineChanges([move, retag]);
    expect(combined.inverse).toEqual([...retag.inverse, ...move.inverse]);
    await v.transact(combined.operations);
    expect((await v.getPort(p1))?.bridge).toBe(br2);
    expect((await v.getPort(p1))?.tag).toBe(99);
    await v.transact(combined.inverse);
    expect(configOf(await v.snapshot())).toEqual(before);
    await v.deleteBridge(br2);
  });

  test("a change whose inverse could not restore the rows refuses before anything is sent", async () => {
    const v = sandbox.vswitch;
    await v.client.transact([
      { op: "insert", table: "QoS", "uuid-name": "q", row: { type: "linux-htb" } },
      { op: "update", table: "Port", where: [["name", "==", p1]], row: { qos: ["named-uuid", "q"] } },
    ]);
    const error = await v.changes.deletePorts([p1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OvsError);
    expect((error as Error).message).toMatch(/references qos/);
    await v.client.transact([
      { op: "update", table: "Port", where: [["name", "==", p1]], row: { qos: ["set", []] } },
    ]);
  });

  test("builders check their input like the methods do (one sentence naming the field)", async () => {
    await expect(sandbox.vswitch.changes.setPortTag(p1, 5000)).rejects.toThrow(
      "tag is invalid: must be a VLAN id from 1 to 4094",
    );
    await expect(sandbox.vswitch.changes.addPorts("-bad", [])).rejects.toThrow(
      /bridge is invalid: must not start with "-"/,
    );
  });
});
