// Typed switch operations on a sandbox switch, checked against what ovs-vsctl reports, plus the
// error paths: bad input and missing objects fail with typed errors and change nothing.
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  OvsAlreadyExistsError,
  OvsdbClient,
  OvsInputError,
  OvsNotFoundError,
  OvsSandbox,
  OvsTimeoutError,
  Vswitch,
} from "../src/index.js";
import { shortName } from "./helpers.js";

describePrivileged("typed switch operations", () => {
  let ns: TestNetns;
  let sandbox: OvsSandbox;
  const vsctl = async (...args: string[]) =>
    (await execa("ovs-vsctl", [`--db=${sandbox.remote}`, "--no-wait", ...args])).stdout.trim();
  const br = shortName("br");
  const br2 = shortName("br");

  beforeAll(async () => {
    ns = await createNetns("sw");
    sandbox = await OvsSandbox.start({ netns: ns.name });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await ns?.remove();
  });

  test("bridges: add with datapath, fail mode, other_config, external_ids; may-exist; list", async () => {
    const v = sandbox.vswitch;
    await v.addBridge({
      name: br,
      failMode: "standalone",
      otherConfig: { "mac-aging-time": "30" },
      externalIds: { lab: "a" },
    });
    await v.addBridge({ name: br2, datapathType: "netdev" });
    expect((await vsctl("list-br")).split("\n")).toEqual([br, br2].sort());
    expect(await vsctl("get", "Bridge", br, "datapath_type")).toBe("netdev");
    expect(await vsctl("get", "Bridge", br, "fail_mode")).toBe("standalone");
    expect(await vsctl("get", "Bridge", br, "other_config:mac-aging-time")).toBe('"30"');
    expect(await vsctl("get", "Bridge", br, "external_ids")).toBe("{lab=a, vmnet-owner=vmnet}");
    // ovs-vsctl add-br's shape: the bridge's own internal port.
    expect(await vsctl("get", "Interface", br, "type")).toBe("internal");

    await expect(v.addBridge({ name: br })).rejects.toThrow(OvsAlreadyExistsError);
    await v.addBridge({ name: br, mayExist: true });
    const info = await v.getBridge(br);
    expect(info).toMatchObject({
      name: br,
      datapathType: "netdev",
      failMode: "standalone",
      ports: [br],
      otherConfig: { "mac-aging-time": "30" },
    });
    // The device exists in the switch's namespace once ovs-vswitchd applied it (wait is the default).
    expect((await ns.ipJson(["link", "show", br]))[0]?.ifname).toBe(br);
  });

  test("ports: tag, trunks, vlan modes, internal/vxlan/gre/geneve/patch with options", async () => {
    const v = sandbox.vswitch;
    await v.addPort(br, { name: "a1", type: "internal", tag: 10 });
    await v.addPort(br, { name: "t1", type: "internal", trunks: [10, 20], vlanMode: "trunk" });
    await v.addPort(br, { name: "q1", type: "internal", tag: 100, vlanMode: "dot1q-tunnel", cvlans: [5, 6] });
    await v.addPort(br, { name: "vx1", type: "vxlan", options: { remote_ip: "192.0.2.2", key: "42" } });
    await v.addPort(br, { name: "gr1", type: "gre", options: { remote_ip: "192.0.2.3" } });
    await v.addPort(br, { name: "gn1", type: "geneve", options: { remote_ip: "192.0.2.4", key: "7" } });
    await v.addPort(br, { name: "pa", type: "patch", options: { peer: "pb" } });
    await v.addPort(br2, { name: "pb", type: "patch", options: { peer: "pa" } });

    expect(await vsctl("get", "Port", "a1", "tag")).toBe("10");
    expect(await vsctl("get", "Port", "t1", "trunks")).toBe("[10, 20]");
    expect(await vsctl("get", "Port", "t1", "vlan_mode")).toBe("trunk");
    expect(await vsctl("get", "Port", "q1", "vlan_mode")).toBe("dot1q-tunnel");
    expect(await vsctl("get", "Port", "q1", "cvlans")).toBe("[5, 6]");
    expect(await vsctl("get", "Interface", "vx1", "type")).toBe("vxlan");
    expect(await vsctl("get", "Interface", "vx1", "options")).toBe('{key="42", remote_ip="192.0.2.2"}');
    expect(await vsctl("get", "Interface", "gr1", "options:remote_ip")).toBe('"192.0.2.3"');
    expect(await vsctl("get", "Interface", "gn1", "type")).toBe("geneve");
    expect(await vsctl("get", "Interface", "pa", "options:peer")).toBe("pb");
    expect(await vsctl("get", "Port", "a1", "external_ids:vmnet-owner")).toBe("vmnet");
    expect((await vsctl("list-ports", br)).split("\n")).toEqual([
      "a1",
      "gn1",
      "gr1",
      "pa",
      "q1",
      "t1",
      "vx1",
    ]);
    const show = await vsctl("show");
    expect(show).toMatch(
      /Port vx1\n\s+Interface vx1\n\s+type: vxlan\n\s+options: \{key="42", remote_ip="192.0.2.2"\}/,
    );

    const ports = await v.listPorts(br);
    expect(ports.find((p) => p.name === "t1")).toMatchObject({
      bridge: br,
      trunks: [10, 20],
      vlanMode: "trunk",
      tag: undefined,
    });
    expect(ports.find((p) => p.name === "vx1")?.interfaces[0]).toMatchObject({
      type: "vxlan",
      options: { remote_ip: "192.0.2.2", key: "42" },
    });
    // ovs-vswitchd gave the internal port an OpenFlow port number and a device.
    expect(ports.find((p) => p.name === "a1")?.interfaces[0]?.ofport).toBeGreaterThan(0);
  });

  test("ports: may-exist, if-exists, set tag, move, bulk add and delete", async () => {
    const v = sandbox.vswitch;
    await expect(v.addPort(br, { name: "a1", tag: 10 })).rejects.toThrow(OvsAlreadyExistsError);
    await v.addPort(br, { name: "a1", tag: 10, mayExist: true });
    await expect(v.addPort(br2, { name: "a1", mayExist: true })).rejects.toThrow(
      /port "a1" already exists: on another bridge/,
    );

    await v.setPortTag("a1", 30);
    expect(await vsctl("get", "Port", "a1", "tag")).toBe("30");
    await v.setPortTag("a1", undefined);
    expect(await vsctl("get", "Port", "a1", "tag")).toBe("[]");

    await v.movePort("a1", br2);
    expect(await vsctl("port-to-br", "a1")).toBe(br2);

    const names = Array.from({ length: 50 }, (_, i) => `bulk${i}`);
    expect(
      await v.addPorts(
        br,
        names.map((name, i) => ({ name, type: "internal" as const, tag: (i % 3) + 1 })),
      ),
    ).toEqual(names);
    expect((await vsctl("list-ports", br)).split("\n")).toHaveLength(56);
    expect(await vsctl("get", "Port", "bulk4", "tag")).toBe("2");
    expect(await v.deletePorts(names)).toEqual(names);
    expect((await vsctl("list-ports", br)).split("\n")).toHaveLength(6);

    await expect(v.deletePort("nosuch")).rejects.toThrow(OvsNotFoundError);
    await v.deletePort("nosuch", { ifExists: true });
    await expect(v.deletePort("a1", { bridge: br })).rejects.toThrow(/port on bridge/);
    await v.deletePort("a1", { bridge: br2 });
    expect(await vsctl("list-ports", br2)).toBe("pb");
  });

  test("bad input changes nothing and says which field", async () => {
    const v = sandbox.vswitch;
    const before = await vsctl("show");
    const tag = await v.addPort(br, { name: "x1", tag: 4095 }).catch((e: unknown) => e);
    expect(tag).toBeInstanceOf(OvsInputError);
    expect((tag as Error).message).toBe("port.tag is invalid: must be a VLAN id from 1 to 4094");
    // One bad spec in a bulk add: none of them is added.
    const bulk = await v
      .addPorts(br, [{ name: "ok1" }, { name: "ok2", trunks: [0] }])
      .catch((e: unknown) => e);
    expect((bulk as OvsInputError).field).toBe("ports.1.trunks.0");
    await expect(v.addPorts(br, [{ name: "dupe" }, { name: "dupe" }])).rejects.toThrow(/appears twice/);
    await expect(v.addPort("nobridge", { name: "x2" })).rejects.toThrow('bridge "nobridge" does not exist');
    await expect(v.addBridge({ name: "this-name-is-too-long" })).rejects.toThrow(/bridge.name is invalid/);
    await expect(v.setPortTag("vx1", 0)).rejects.toThrow(/tag is invalid/);
    await expect(v.setPortTag("nosuch", 5)).rejects.toThrow(OvsNotFoundError);
    await expect(v.addMirror(br, { name: "m", selectAll: true, outputPort: "nosuch" })).rejects.toThrow(
      /nosuch/,
    );
    await expect(v.setNetflow(br, { targets: ["localhost"] })).rejects.toThrow(
      /netflow.targets.0 is invalid: must be "IP:PORT"/,
    );
    expect(await vsctl("show")).toBe(before);
  });

  test("mirrors: select all or by port, output port; delete", async () => {
    const v = sandbox.vswitch;
    await v.addPort(br, { name: "mo", type: "internal" });
    await v.addMirror(br, { name: "all", selectAll: true, outputPort: "mo" });
    await v.addMirror(br2, { name: "some", selectSrcPorts: ["pb"], selectDstPorts: ["pb"], outputVlan: 99 });
    expect(await vsctl("get", "Mirror", "all", "select_all")).toBe("true");
    expect(
      await vsctl(
        "--columns=name",
        "--bare",
        "list",
        "Port",
        await vsctl("get", "Mirror", "all", "output_port"),
      ),
    ).toBe("mo");
    expect(await vsctl("get", "Mirror", "some", "output_vlan")).toBe("99");
    const mirrors = await v.listMirrors();
    expect(mirrors.find((m) => m.name === "some")).toMatchObject({
      bridge: br2,
      selectSrcPorts: ["pb"],
      selectDstPorts: ["pb"],
      outputVlan: 99,
    });
    expect((await v.getBridge(br))?.mirrors).toEqual(["all"]);
    await expect(v.addMirror(br, { name: "all", selectAll: true, outputPort: "mo" })).rejects.toThrow(
      OvsAlreadyExistsError,
    );
    await v.deleteMirror(br, "all");
    await v.deleteMirror(br, "all", { ifExists: true });
    await expect(v.deleteMirror(br, "all")).rejects.toThrow(OvsNotFoundError);
    expect(await vsctl("--bare", "--columns=name", "list", "Mirror")).toBe("some");
  });

  test("NetFlow: targets, timeout, engine ids; change timeout; delete", async () => {
    const v = sandbox.vswitch;
    await v.setNetflow(br, { targets: ["127.0.0.1:2055"], activeTimeout: 30, engineType: 3, engineId: 4 });
    const uuid = await vsctl("get", "Bridge", br, "netflow");
    expect(await vsctl("get", "NetFlow", uuid, "targets")).toBe('["127.0.0.1:2055"]');
    expect(await vsctl("get", "NetFlow", uuid, "active_timeout")).toBe("30");
    expect(await vsctl("get", "NetFlow", uuid, "engine_type")).toBe("3");
    expect(await vsctl("get", "NetFlow", uuid, "engine_id")).toBe("4");
    await v.setNetflowTimeout(br, 5);
    expect(await vsctl("get", "NetFlow", uuid, "active_timeout")).toBe("5");
    expect((await v.getBridge(br))?.netflow).toMatchObject({
      targets: ["127.0.0.1:2055"],
      activeTimeout: 5,
      engineType: 3,
      engineId: 4,
    });
    await v.deleteNetflow(br);
    expect(await vsctl("get", "Bridge", br, "netflow")).toBe("[]");
    expect(await vsctl("list", "NetFlow")).toBe("");
    await expect(v.deleteNetflow(br)).rejects.toThrow(OvsNotFoundError);
  });

  test("Open_vSwitch other_config (vlan-limit)", async () => {
    const v = sandbox.vswitch;
    await v.setOtherConfig({ "vlan-limit": "2" });
    expect(await vsctl("get", "Open_vSwitch", ".", "other_config:vlan-limit")).toBe('"2"');
    expect((await v.getOtherConfig())["vlan-limit"]).toBe("2");
    await v.setOtherConfig({ "vlan-limit": undefined });
    expect(await vsctl("get", "Open_vSwitch", ".", "other_config")).toBe("{}");
  });

  test("interface statistics and link state from a monitor", async () => {
    const v = sandbox.vswitch;
    await v.addPort(br, { name: "st1", type: "internal" });
    const watcher = await v.watchInterfaces();
    try {
      expect(watcher.get("st1")?.linkState).toBe("down");
      await ns.exec("ip", ["link", "set", "st1", "up"]);
      const up = await watcher.waitFor("st1", (i) => i.linkState === "up", 15_000);
      expect(up.adminState).toBe("up");
      // Stats are refreshed every 5 s; after the device came up it has sent something (IPv6 DAD/RS).
      const counted = await watcher.waitFor(
        "st1",
        (i) => (i.statistics.tx_packets ?? 0) + (i.statistics.rx_packets ?? 0) > 0,
        15_000,
      );
      expect(counted.statistics).toHaveProperty("rx_bytes");
      expect(watcher.list().map((i) => i.name)).toContain("st1");
    } finally {
      await watcher.stop();
    }
  });

  test("ownership marks, delete bridge (ports go with it)", async () => {
    const v = sandbox.vswitch;
    await vsctl("add-br", "foreign", "--", "set", "Bridge", "foreign", "datapath_type=netdev");
    const owned = await v.owned();
    expect(owned.bridges).toEqual([br, br2].sort());
    expect(owned.ports).not.toContain("foreign");
    await v.deleteBridge(br2);
    expect(await vsctl("list-br")).not.toContain(br2);
    expect(await vsctl("--bare", "--columns=name", "find", "Port", "name=pb")).toBe("");
    await expect(v.deleteBridge(br2)).rejects.toThrow(OvsNotFoundError);
    await v.deleteBridge(br2, { ifExists: true });
  });

  test("ofctl: add, dump (parsed) and delete flows", async () => {
    await sandbox.ofctl.addFlow(br, "priority=100,arp,actions=NORMAL");
    await sandbox.ofctl.addFlows(br, [
      "priority=50,ip,nw_dst=10.9.9.9,actions=drop",
      "priority=40,icmp,actions=NORMAL",
    ]);
    const flows = await sandbox.ofctl.dumpFlows(br);
    expect(flows.map((f) => [f.priority, f.match, f.actions])).toEqual(
      expect.arrayContaining([
        [100, "arp", "NORMAL"],
        [50, "ip,nw_dst=10.9.9.9", "drop"],
        [40, "icmp", "NORMAL"],
      ]),
    );
    await sandbox.ofctl.delFlows(br, "arp");
    expect((await sandbox.ofctl.dumpFlows(br)).some((f) => f.match === "arp")).toBe(false);
    await expect(sandbox.ofctl.addFlow(br, "priority=1,nonsense=3,actions=NORMAL")).rejects.toThrow(
      /ovs-ofctl -- add-flow/,
    );
  });

  test("waiting for ovs-vswitchd times out clearly when no ovs-vswitchd runs", async () => {
    const client = await OvsdbClient.connect(sandbox.remote);
    const lonely = new Vswitch(client, { waitTimeoutMs: 300 });
    process.kill(sandbox.pids["ovs-vswitchd"], "SIGSTOP");
    try {
      await expect(lonely.setOtherConfig({ "x-test": "1" })).rejects.toThrow(OvsTimeoutError);
      // Committed: the database has it even though the switch did not apply it.
      expect(await vsctl("get", "Open_vSwitch", ".", "other_config:x-test")).toBe('"1"');
    } finally {
      process.kill(sandbox.pids["ovs-vswitchd"], "SIGCONT");
      await lonely.dispose();
      client.close();
    }
  });
});
