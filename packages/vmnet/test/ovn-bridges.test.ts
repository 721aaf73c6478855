// Bridges in OVN mode across three simulated hosts (OvnSandbox from @vmnet/ovs: a control plane
// and three chassis, each a netns with its own userspace OVS and ovn-controller). Each host opens
// Bridges on its own OVS with `ovn: { northbound }`; a VLAN is a logical switch and each tap is
// bound to a logical port on whichever host it lives, so taps on different hosts share L2 with no
// tunnel made by hand.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { OvnSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { StepError, VmnetInputError } from "../src/errors.js";
import { type Bridge, Bridges } from "../src/index.js";

const pool = process.env.VITEST_POOL_ID ?? "0";

async function pings(from: TestNetns, to: string, count = 1): Promise<boolean> {
  const r = await execa(
    "ip",
    ["netns", "exec", from.name, "ping", "-c", String(count), "-W", "1", "-i", "0.2", to],
    {
      reject: false,
    },
  );
  return r.exitCode === 0;
}

async function reaches(from: TestNetns, to: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) if (await pings(from, to)) return true;
  return false;
}

interface Host {
  bridges: Bridges;
  bridge: Bridge;
}

describePrivileged("Bridges on OVN: a VLAN is a logical switch spanning hosts", () => {
  let ovn: OvnSandbox;
  const hosts: Host[] = [];
  const vms: Record<string, TestNetns> = {};
  const taps: Record<string, string> = {};
  // vm -> [host index, vlan, address, mac]
  const plan: Record<string, [number, number, string, string]> = {
    a1: [0, 10, "10.70.0.1", "52:54:00:70:00:01"],
    a2: [1, 10, "10.70.0.2", "52:54:00:70:00:02"],
    a3: [2, 10, "10.70.0.3", "52:54:00:70:00:03"],
    b1: [0, 20, "10.70.0.11", "52:54:00:70:00:11"],
    b3: [2, 20, "10.70.0.13", "52:54:00:70:00:13"],
  };

  beforeAll(async () => {
    const t0 = Date.now();
    ovn = await OvnSandbox.start({ chassis: 3, prefix: `vo${pool}` });
    for (const chassis of ovn.chassis) {
      const bridges = await Bridges.open({
        db: chassis.ovs.remote,
        netns: chassis.netns,
        datapathType: "netdev",
        ovn: { northbound: ovn.nbRemote },
      });
      hosts.push({ bridges, bridge: await bridges.get() });
    }
    for (const [vm, [host, vlan, address, mac]] of Object.entries(plan)) {
      vms[vm] = await createNetns(`vo${vm}`);
      taps[vm] = await (hosts[host] as Host).bridge.createContainerTap({
        netns: (vms[vm] as TestNetns).name,
        vlan,
        mac,
        address: `${address}/24`,
      });
    }
    const logical: string[] = [];
    for (const h of hosts)
      for (const t of await h.bridge.taps()) if (t.logicalPort) logical.push(t.logicalPort);
    await ovn.northbound.waitPortsUp(logical, { timeoutMs: 30_000 });
    console.log(`3 hosts, ${logical.length} taps bound and up in ${Date.now() - t0} ms`);
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) await h.bridges.close().catch(() => {});
    await ovn?.stop();
    for (const vm of Object.values(vms)) await vm.remove();
  }, 60_000);

  test("the default bridge is br-int; taps show their VLAN and logical port; VLANs are logical switches", async () => {
    const h1 = hosts[0] as Host;
    expect(h1.bridge.name).toBe("br-int");
    const mine = (await h1.bridge.taps()).map((t) => [t.name, t.vlan, t.logicalPort, t.mac]);
    expect(mine).toEqual([
      [taps.a1, 10, `chassis-1.${taps.a1}`, "52:54:00:70:00:01"],
      [taps.b1, 20, `chassis-1.${taps.b1}`, "52:54:00:70:00:11"],
    ]);
    const ports = await ovn.northbound.listLogicalPorts();
    expect(ports.map((p) => [p.name, p.switchName, p.addresses, p.up]).sort()).toEqual(
      [
        [`chassis-1.${taps.a1}`, "vmnet-vlan10", ["52:54:00:70:00:01"], true],
        [`chassis-2.${taps.a2}`, "vmnet-vlan10", ["52:54:00:70:00:02"], true],
        [`chassis-3.${taps.a3}`, "vmnet-vlan10", ["52:54:00:70:00:03"], true],
        [`chassis-1.${taps.b1}`, "vmnet-vlan20", ["52:54:00:70:00:11"], true],
        [`chassis-3.${taps.b3}`, "vmnet-vlan20", ["52:54:00:70:00:13"], true],
      ].sort(),
    );
    // No VLAN tag on the OVS port: OVN carries the isolation.
    const [row] = await (await import("@vmnet/ovs")).OvsdbClient.connect(
      ovn.chassis[0]?.ovs.remote as string,
    ).then(async (c) => {
      const r = await c.transact([
        {
          op: "select",
          table: "Port",
          where: [["name", "==", taps.a1 as string]],
          columns: ["tag", "external_ids"],
        },
      ]);
      c.close();
      return r;
    });
    expect(row?.rows?.[0]?.tag).toEqual(["set", []]);
  });

  test("same-VLAN taps reach each other across hosts; other VLANs do not", async () => {
    const a1 = vms.a1 as TestNetns;
    expect(await reaches(a1, "10.70.0.2")).toBe(true);
    expect(await reaches(a1, "10.70.0.3")).toBe(true);
    expect(await reaches(vms.b1 as TestNetns, "10.70.0.13")).toBe(true);
    expect(await pings(a1, "10.70.0.11", 3)).toBe(false);
    expect(await pings(a1, "10.70.0.13", 3)).toBe(false);
    expect(await pings(vms.b3 as TestNetns, "10.70.0.3", 3)).toBe(false);
  });

  test("an ACL on the VLAN's logical switch blocks what it names", async () => {
    const nb = ovn.northbound;
    const acl = await nb.addAcl("vmnet-vlan10", {
      direction: "to-lport",
      priority: 1000,
      match: "ip4.src == 10.70.0.2 && ip4.dst == 10.70.0.3",
      action: "drop",
    });
    try {
      const deadline = Date.now() + 10_000;
      while ((await pings(vms.a2 as TestNetns, "10.70.0.3")) && Date.now() < deadline);
      expect(await pings(vms.a2 as TestNetns, "10.70.0.3", 3)).toBe(false);
      expect(await pings(vms.a2 as TestNetns, "10.70.0.1", 3)).toBe(true);
    } finally {
      await nb.deleteAcls("vmnet-vlan10", [acl]);
    }
    expect(await reaches(vms.a2 as TestNetns, "10.70.0.3")).toBe(true);
  });

  test("QoS, capture and bandwidth statistics still work on the local tap", async () => {
    const h3 = hosts[2] as Host;
    const state = await h3.bridge.updateQos(taps.a3 as string, { rate: "8mbit" });
    expect(state.rate).toBe(1_000_000); // bytes per second
    expect((await h3.bridge.getQos(taps.a3 as string)).rate).toEqual(state.rate);
    const dir = await mkdtemp(join(tmpdir(), "vmnet-ovncap-"));
    const sampler = h3.bridges.startBandwidth({ intervalMs: 300, samples: 3 });
    try {
      const file = join(dir, "a3.pcap");
      const capture = await h3.bridge.captureTap(taps.a3 as string, {
        file,
        filter: "icmp and host 10.70.0.1",
        packets: 4,
      });
      // Pings from another host cross OVN's tunnel and show up on the local tap.
      await execa(
        "ip",
        ["netns", "exec", (vms.a1 as TestNetns).name, "ping", "-c", "4", "-i", "0.2", "-W", "1", "10.70.0.3"],
        { reject: false },
      );
      const stats = await capture.done;
      expect(stats.packets).toBe(4);
      const read = await execa("tcpdump", ["-nr", file]);
      expect(read.stdout).toMatch(/10\.70\.0\.1 > 10\.70\.0\.3: ICMP echo request/);
      await new Promise((r) => setTimeout(r, 1000));
      const tap = await h3.bridges.findTap(taps.a3 as string);
      expect(Number(tap?.counters?.txPackets ?? 0)).toBeGreaterThan(0);
      expect(tap?.bandwidth?.samples).toBeGreaterThan(0);
    } finally {
      await sampler.stop();
      await rm(dir, { recursive: true, force: true });
      await h3.bridge.removeQos(taps.a3 as string);
    }
  });

  test("a host removed from OVN and re-added heals", async () => {
    const c2 = ovn.chassisNamed("chassis-2");
    const lsp = `chassis-2.${taps.a2}`;
    await c2.removeController();
    await ovn.northbound.waitPortsUp([lsp], { up: false, timeoutMs: 15_000 });
    expect(await pings(vms.a1 as TestNetns, "10.70.0.2", 2)).toBe(false);
    await c2.startController();
    await ovn.northbound.waitPortsUp([lsp], { timeoutMs: 30_000 });
    expect(await reaches(vms.a1 as TestNetns, "10.70.0.2", 15_000)).toBe(true);
  }, 60_000);

  test("addTap moves a tap to another VLAN (logical switch) and back; undefined unbinds it", async () => {
    const h1 = hosts[0] as Host;
    const a1 = vms.a1 as TestNetns;
    const tap = taps.a1 as string;
    const lsp = `chassis-1.${tap}`;
    await h1.bridge.addTap(tap, { vlan: 20 });
    await ovn.northbound.waitPortsUp([lsp], { timeoutMs: 30_000 });
    expect((await ovn.northbound.listLogicalPorts()).find((p) => p.name === lsp)?.switchName).toBe(
      "vmnet-vlan20",
    );
    expect((await h1.bridge.taps()).find((t) => t.name === tap)?.vlan).toBe(20);
    // Now with b3 (VLAN 20, another host), no longer with a2 (VLAN 10).
    expect(await reaches(a1, "10.70.0.13", 15_000)).toBe(true);
    expect(await pings(a1, "10.70.0.2", 3)).toBe(false);
    // Unbound: on no logical switch, reaches nobody.
    await h1.bridge.addTap(tap, {});
    expect((await ovn.northbound.listLogicalPorts()).map((p) => p.name)).not.toContain(lsp);
    expect(await pings(a1, "10.70.0.13", 2)).toBe(false);
    // Back on VLAN 10 with a2 and a3.
    await h1.bridge.addTap(tap, { vlan: 10 });
    await ovn.northbound.waitPortsUp([lsp], { timeoutMs: 30_000 });
    expect(await reaches(a1, "10.70.0.2", 15_000)).toBe(true);
    expect(await pings(a1, "10.70.0.13", 3)).toBe(false);
  }, 90_000);

  test("a fault at every step of tap creation and destruction leaves OVN, OVS and the kernel as they were", async () => {
    const h1 = hosts[0] as Host;
    const nb = ovn.northbound;
    const state = async () => ({
      lsps: (await nb.listLogicalPorts()).map((p) => p.name).sort(),
      ports: (await h1.bridges.taps()).map((t) => t.name).sort(),
      links: (await execa("ip", ["-n", ovn.chassis[0]?.netns as string, "-o", "link", "show"])).stdout
        .split("\n")
        .map((l) => l.split(":")[1]?.trim().split("@")[0])
        .sort(),
    });
    const before = await state();
    const fault = (at: number) => ({
      beforeStep: (_s: unknown, i: number) => {
        if (i === at) throw new Error(`fault at step ${i}`);
      },
    });
    // createTaps: [kernel taps, logical ports + OVS ports]
    for (const at of [0, 1]) {
      const error = await h1.bridge
        .createTaps([{ vlan: 50 }, { vlan: 51 }], fault(at))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).index).toBe(at);
      expect(await state()).toEqual(before);
    }
    // createHostTap: [logical port + OVS port, mark and bring up]: a fault at 1 undoes the OVN step.
    const error = await h1.bridge.createHostTap({ vlan: 52 }, fault(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).undone).toBe(1);
    expect(await state()).toEqual(before);
    // destroyTaps: [OVS ports, kernel links, logical ports]; a fault undoes what went before.
    const made = await h1.bridge.createTaps([{ vlan: 53 }]);
    const withTap = await state();
    expect(withTap.lsps).toContain(`chassis-1.${made[0]}`);
    for (const at of [0, 1]) {
      await expect(h1.bridge.destroyTaps(made, fault(at))).rejects.toBeInstanceOf(StepError);
      expect(await state()).toEqual(withTap);
    }
    await h1.bridge.destroyTaps(made);
    expect(await state()).toEqual(before);
  }, 60_000);

  test("bad OVN options name the field; destroying taps removes their logical ports", async () => {
    const chassis = ovn.chassis[0];
    const error = await Bridges.open({
      db: chassis?.ovs.remote as string,
      netns: chassis?.netns as string,
      ovn: { northbound: ovn.nbRemote, switchFormat: "no-placeholder" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmnetInputError);
    expect((error as Error).message).toMatch(/ovn\.switchFormat/);
    const h1 = hosts[0] as Host;
    const extra = await h1.bridge.createTaps([{ vlan: 30 }, { vlan: 30 }]);
    const lsps = extra.map((t) => `chassis-1.${t}`);
    expect((await ovn.northbound.listLogicalPorts("vmnet-vlan30")).map((p) => p.name).sort()).toEqual(
      lsps.sort(),
    );
    // removeTap takes the OVS port and the logical port away; addTap puts both back.
    await h1.bridge.removeTap(extra[0] as string);
    expect((await ovn.northbound.listLogicalPorts("vmnet-vlan30")).map((p) => p.name)).toEqual([lsps[1]]);
    expect((await h1.bridge.taps()).map((t) => t.name)).not.toContain(extra[0]);
    await h1.bridge.addTap(extra[0] as string, { vlan: 30 });
    expect((await ovn.northbound.listLogicalPorts("vmnet-vlan30")).map((p) => p.name).sort()).toEqual(
      lsps.sort(),
    );
    await h1.bridge.destroyTaps(extra);
    expect(await ovn.northbound.listLogicalPorts("vmnet-vlan30")).toEqual([]);
  });
});
