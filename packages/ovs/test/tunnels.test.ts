// Two simulated hosts, each a network namespace running its own sandbox OVS, joined by an underlay
// veth. Each has a VM-like namespace on VLAN 10 of an integration bridge; a VXLAN or GRE tunnel
// port joins the integration bridges. The userspace datapath routes tunnel packets through the
// bridge that holds the underlay address (br-phy), as OVS's userspace tunnelling requires.
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OvsSandbox } from "../src/index.js";
import { createHost, type Host, pings, pingsEventually, shortName } from "./helpers.js";

interface SimHost {
  ns: TestNetns;
  sandbox: OvsSandbox;
  vm: Host;
  other: Host;
  underlay: string;
  brInt: string;
}

describePrivileged("tunnels between two simulated hosts", () => {
  const hosts: SimHost[] = [];
  const cleanup: TestNetns[] = [];

  beforeAll(async () => {
    const a = await createNetns("ha");
    const b = await createNetns("hb");
    cleanup.push(a, b);
    const va = shortName("ul");
    const vb = shortName("ul");
    await execa("ip", [
      "link",
      "add",
      va,
      "netns",
      a.name,
      "type",
      "veth",
      "peer",
      "name",
      vb,
      "netns",
      b.name,
    ]);
    for (const [index, ns, dev] of [
      [1, a, va],
      [2, b, vb],
    ] as const) {
      await ns.exec("ip", ["link", "set", dev, "up"]);
      const sandbox = await OvsSandbox.start({ netns: ns.name });
      const brPhy = shortName("bp");
      const brInt = shortName("bi");
      const underlay = `192.168.77.${index}`;
      await sandbox.vswitch.addBridge({ name: brPhy });
      await sandbox.vswitch.addPort(brPhy, { name: dev });
      await ns.exec("ip", ["addr", "add", `${underlay}/24`, "dev", brPhy]);
      await ns.exec("ip", ["link", "set", brPhy, "up"]);
      await sandbox.vswitch.addBridge({ name: brInt });
      const vm = await createHost(`10.10.0.${index}/24`, ns.name);
      const other = await createHost(`10.10.0.${index + 10}/24`, ns.name);
      cleanup.push(vm.ns, other.ns);
      await sandbox.vswitch.addPorts(brInt, [
        { name: vm.port, tag: 10 },
        { name: other.port, tag: 20 },
      ]);
      hosts.push({ ns, sandbox, vm, other, underlay, brInt });
    }
    const [ha, hb] = hosts as [SimHost, SimHost];
    // The underlay itself works (through br-phy on both sides).
    expect(await pingsEventually(ha.ns, hb.underlay)).toBe(true);
  });
  afterAll(async () => {
    for (const host of hosts) await host.sandbox.stop();
    for (const ns of cleanup) await ns.remove();
  });

  for (const type of ["vxlan", "gre"] as const) {
    describe(type, () => {
      const port = `t${type}`;
      beforeAll(async () => {
        const [ha, hb] = hosts as [SimHost, SimHost];
        await ha.sandbox.vswitch.addPort(ha.brInt, {
          name: port,
          type,
          options: { remote_ip: hb.underlay, key: "5000" },
        });
        await hb.sandbox.vswitch.addPort(hb.brInt, {
          name: port,
          type,
          options: { remote_ip: ha.underlay, key: "5000" },
        });
      });
      afterAll(async () => {
        for (const host of hosts) await host.sandbox.vswitch.deletePort(port, { ifExists: true });
      });

      test(`hosts on the same VLAN ping each other over ${type}; other VLANs do not reach them`, async () => {
        const [ha, hb] = hosts as [SimHost, SimHost];
        expect(await pingsEventually(ha.vm, hb.vm.ip, 5)).toBe(true);
        expect(await pings(hb.vm, ha.vm.ip, 2)).toBe(true);
        expect(await pings(ha.other, hb.vm.ip, 2)).toBe(false);
        const stats = (await ha.sandbox.vswitch.getPort(port))?.interfaces[0];
        expect(stats?.type).toBe(type);
        expect(stats?.options.remote_ip).toBe(hb.underlay);
      });
    });
  }
});
