// OVN end to end on simulated hosts: a control plane and three chassis (each a netns with its own
// userspace OVS and ovn-controller), "VMs" (netns with a veth) bound to logical switch ports by
// external_ids:iface-id. No tunnel is configured by hand: ovn-controller builds the Geneve mesh.
import { existsSync } from "node:fs";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OvnSandbox } from "../src/index.js";

const pool = process.env.VITEST_POOL_ID ?? "0";

async function pings(from: TestNetns, to: string, count = 1, waitS = 1): Promise<boolean> {
  const r = await execa(
    "ip",
    ["netns", "exec", from.name, "ping", "-c", String(count), "-W", String(waitS), "-i", "0.2", to],
    {
      reject: false,
    },
  );
  return r.exitCode === 0;
}

/** Pings until one answer comes (the first packets may meet flows still being installed). */
async function reaches(from: TestNetns, to: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) if (await pings(from, to, 1, 1)) return true;
  return false;
}

describePrivileged("OvnSandbox: logical switches across three simulated hosts", () => {
  let ovn: OvnSandbox;
  const vms: Record<string, TestNetns> = {};
  const addr = { a1: "10.60.0.1", a2: "10.60.0.2", a3: "10.60.0.3", b1: "10.60.0.11", b2: "10.60.0.12" };

  beforeAll(async () => {
    const started = Date.now();
    ovn = await OvnSandbox.start({ chassis: 3, prefix: `ot${pool}` });
    const nb = ovn.northbound;
    await nb.addLogicalSwitch({ name: "ls-a" });
    await nb.addLogicalSwitch({ name: "ls-b" });
    // The same /24 on both switches: only the logical switch keeps them apart.
    const plan: [string, string, string, string][] = [
      ["a1", "ls-a", "chassis-1", "0a:00:00:00:00:01"],
      ["a2", "ls-a", "chassis-2", "0a:00:00:00:00:02"],
      ["a3", "ls-a", "chassis-3", "0a:00:00:00:00:03"],
      ["b1", "ls-b", "chassis-1", "0a:00:00:00:00:11"],
      ["b2", "ls-b", "chassis-3", "0a:00:00:00:00:12"],
    ];
    for (const sw of ["ls-a", "ls-b"])
      await nb.addLogicalPorts(
        sw,
        plan
          .filter((p) => p[1] === sw)
          .map(([vm, , , mac]) => ({
            name: `lsp-${vm}`,
            addresses: [`${mac} ${addr[vm as keyof typeof addr]}`],
            portSecurity: [`${mac} ${addr[vm as keyof typeof addr]}`],
          })),
      );
    for (const [vm, , chassis, mac] of plan) {
      vms[vm] = await createNetns(`ov${vm}`);
      await ovn.plugVm(chassis, {
        port: `lsp-${vm}`,
        netns: (vms[vm] as TestNetns).name,
        mac,
        address: `${addr[vm as keyof typeof addr]}/24`,
      });
    }
    await nb.waitPortsUp(
      plan.map(([vm]) => `lsp-${vm}`),
      { timeoutMs: 30_000 },
    );
    console.log(`3 chassis, 5 ports up in ${Date.now() - started} ms`);
  }, 120_000);

  afterAll(async () => {
    await ovn?.stop();
    for (const vm of Object.values(vms)) await vm.remove();
  }, 60_000);

  test("ports are bound on the chassis that hold their VMs", async () => {
    const [bindings] = await ovn.central.southbound.transact([
      { op: "select", table: "Port_Binding", where: [], columns: ["logical_port", "chassis"] },
    ]);
    const [chassisRows] = await ovn.central.southbound.transact([
      { op: "select", table: "Chassis", where: [], columns: ["_uuid", "name"] },
    ]);
    const nameOf = new Map(
      (chassisRows?.rows ?? []).map((r) => [(r._uuid as [string, string])[1], String(r.name)]),
    );
    const where = Object.fromEntries(
      (bindings?.rows ?? []).map((r) => [
        String(r.logical_port),
        nameOf.get((r.chassis as [string, string])[1]),
      ]),
    );
    expect(where).toEqual({
      "lsp-a1": "chassis-1",
      "lsp-a2": "chassis-2",
      "lsp-a3": "chassis-3",
      "lsp-b1": "chassis-1",
      "lsp-b2": "chassis-3",
    });
    expect((await ovn.northbound.listLogicalPorts("ls-a")).every((p) => p.up)).toBe(true);
  });

  test("sync() (wait hv) resolves once every chassis's ovn-controller reports the new nb_cfg", async () => {
    const target = await ovn.northbound.sync({ timeoutMs: 30_000 });
    const [rows] = await ovn.central.southbound.transact([
      { op: "select", table: "Chassis_Private", where: [], columns: ["name", "nb_cfg"] },
    ]);
    const cfg = Object.fromEntries((rows?.rows ?? []).map((r) => [String(r.name), Number(r.nb_cfg)]));
    expect(Object.keys(cfg).sort()).toEqual(["chassis-1", "chassis-2", "chassis-3"]);
    for (const value of Object.values(cfg)) expect(value).toBeGreaterThanOrEqual(target);
    const [global] = await ovn.northbound.transact([
      { op: "select", table: "NB_Global", where: [], columns: ["hv_cfg"] },
    ]);
    expect(Number(global?.rows?.[0]?.hv_cfg)).toBeGreaterThanOrEqual(target);
  });

  test("same-switch VMs reach each other across hosts; other switches' do not", async () => {
    const a1 = vms.a1 as TestNetns;
    expect(await reaches(a1, addr.a2)).toBe(true); // chassis-1 -> chassis-2
    expect(await reaches(a1, addr.a3)).toBe(true); // chassis-1 -> chassis-3
    expect(await reaches(vms.b1 as TestNetns, addr.b2)).toBe(true);
    // ls-b's VMs are on the same hosts and the same /24, but another switch.
    expect(await pings(a1, addr.b1, 3)).toBe(false);
    expect(await pings(a1, addr.b2, 3)).toBe(false);
    expect(await pings(vms.b1 as TestNetns, addr.a1, 3)).toBe(false);
  });

  test("port security drops a VM's frames from an address it does not own", async () => {
    const a2 = vms.a2 as TestNetns;
    await a2.exec("ip", ["addr", "add", "10.60.0.99/24", "dev", "eth0"]);
    try {
      const r = await execa(
        "ip",
        ["netns", "exec", a2.name, "ping", "-c", "3", "-W", "1", "-i", "0.2", "-I", "10.60.0.99", addr.a1],
        { reject: false },
      );
      expect(r.exitCode).not.toBe(0);
      expect(await reaches(a2, addr.a1)).toBe(true);
    } finally {
      await a2.exec("ip", ["addr", "del", "10.60.0.99/24", "dev", "eth0"]);
    }
  });

  test("an ACL drops what it names, and only that", async () => {
    const nb = ovn.northbound;
    const a1 = vms.a1 as TestNetns;
    expect(await reaches(a1, addr.a3)).toBe(true);
    const acl = await nb.addAcl("ls-a", {
      direction: "to-lport",
      priority: 1000,
      match: `ip4.src == ${addr.a1} && ip4.dst == ${addr.a3} && icmp4`,
      action: "drop",
      name: "no-a1-to-a3",
    });
    expect((await nb.listAcls("ls-a")).map((a) => [a.uuid, a.action, a.name])).toEqual([
      [acl, "drop", "no-a1-to-a3"],
    ]);
    // ovn-northd and the controllers need a moment; wait until the drop shows.
    const deadline = Date.now() + 10_000;
    while ((await pings(a1, addr.a3, 1, 1)) && Date.now() < deadline);
    expect(await pings(a1, addr.a3, 3)).toBe(false);
    expect(await pings(a1, addr.a2, 3)).toBe(true); // not named: still allowed
    await nb.deleteAcls("ls-a", [acl]);
    expect(await nb.listAcls("ls-a")).toEqual([]);
    expect(await reaches(a1, addr.a3)).toBe(true);
  });

  test("a chassis removed and re-added heals: its ports go down, then up, and traffic returns", async () => {
    const nb = ovn.northbound;
    const c2 = ovn.chassisNamed("chassis-2");
    await c2.removeController();
    expect(c2.controllerPid).toBeUndefined();
    await nb.waitPortsUp(["lsp-a2"], { up: false, timeoutMs: 15_000 });
    const [chassisRows] = await ovn.central.southbound.transact([
      { op: "select", table: "Chassis", where: [], columns: ["name"] },
    ]);
    expect((chassisRows?.rows ?? []).map((r) => r.name).sort()).toEqual(["chassis-1", "chassis-3"]);
    await c2.startController();
    await nb.waitPortsUp(["lsp-a2"], { timeoutMs: 30_000 });
    expect(await reaches(vms.a1 as TestNetns, addr.a2, 15_000)).toBe(true);
    expect(await reaches(vms.a2 as TestNetns, addr.a3, 15_000)).toBe(true);
  }, 60_000);

  test("stop() ends every daemon and removes every namespace and directory", async () => {
    const dirs = [ovn.central.dir, ...ovn.chassis.map((c) => c.ovs.dir)];
    const namespaces = [ovn.underlayNetns, ...ovn.chassis.map((c) => c.netns)];
    await ovn.stop();
    for (const dir of dirs) expect(existsSync(dir), dir).toBe(false);
    const list = (await execa("ip", ["netns", "list"])).stdout;
    for (const ns of namespaces) expect(list).not.toContain(ns);
  }, 60_000);
});
