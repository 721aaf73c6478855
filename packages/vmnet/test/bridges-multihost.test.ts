// Two simulated hosts (a netns each, with its own OVS sandbox), joined by an underlay veth and
// then by VXLAN and GRE tunnels made with Bridge.addTunnel: taps on the same VLAN on both hosts
// reach each other, other VLANs do not.
import { createNetns, type TestNetns, uniqueName } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Bridge, Bridges } from "../src/index.js";
import { ping } from "./support/bridges-env.js";

interface Host {
  ns: TestNetns;
  ovs: OvsSandbox;
  bridges: Bridges;
  lab: Bridge;
  underlay: string;
  vlan10: TestNetns;
  vlan20: TestNetns;
}

describePrivileged("multi-host: two hosts joined by tunnels", () => {
  const hosts: Host[] = [];
  const extra: TestNetns[] = [];
  beforeAll(async () => {
    const a = await createNetns("mh");
    const b = await createNetns("mh");
    extra.push(a, b);
    const [ua, ub] = [uniqueName("ul").slice(0, 15), uniqueName("ul").slice(0, 15)];
    await execa("ip", [
      "link",
      "add",
      ua,
      "netns",
      a.name,
      "type",
      "veth",
      "peer",
      "name",
      ub,
      "netns",
      b.name,
    ]);
    for (const [i, ns, dev] of [
      [1, a, ua],
      [2, b, ub],
    ] as const) {
      const ovs = await OvsSandbox.start({ netns: ns.name });
      const bridges = await Bridges.open({ db: ovs.remote, netns: ns.name, datapathType: "netdev" });
      // The underlay: the host's NIC on br-phy, the host's address on br-phy itself.
      const phy = await bridges.get("br-phy");
      await phy.addTrunk(dev);
      const underlay = `192.168.77.${i}`;
      await phy.addBridgeAddress(`${underlay}/24`);
      const lab = await bridges.get("lab");
      const vms: TestNetns[] = [];
      for (const [vlan, last] of [
        [10, i],
        [20, 10 + i],
      ] as const) {
        const vm = await createNetns("mhv");
        extra.push(vm);
        vms.push(vm);
        await lab.createContainerTap({ netns: vm.name, vlan, address: `10.10.0.${last}/24` });
      }
      hosts.push({
        ns,
        ovs,
        bridges,
        lab,
        underlay,
        vlan10: vms[0] as TestNetns,
        vlan20: vms[1] as TestNetns,
      });
    }
    const [ha, hb] = hosts as [Host, Host];
    expect(await ping(ha.ns, hb.underlay)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    for (const h of hosts) {
      await h.bridges.destroy().catch(() => {});
      await h.ovs.stop();
    }
    for (const ns of extra) await ns.remove().catch(() => {});
  });

  for (const type of ["vxlan", "gre"] as const) {
    describe(type, () => {
      const names: string[] = [];
      beforeAll(async () => {
        const [ha, hb] = hosts as [Host, Host];
        names.push(await ha.lab.addTunnel({ type, remote: hb.underlay, key: 5000 }));
        names.push(await hb.lab.addTunnel({ type, remote: ha.underlay, key: 5000 }));
      });
      afterAll(async () => {
        const [ha, hb] = hosts as [Host, Host];
        await ha.lab.removeTunnel(names[0] as string);
        await hb.lab.removeTunnel(names[1] as string);
      });

      test(`same VLAN across hosts over ${type}; other VLANs isolated`, async () => {
        const [ha, hb] = hosts as [Host, Host];
        expect(await ping(ha.vlan10, "10.10.0.2", 10)).toBe(true);
        expect(await ping(hb.vlan20, "10.10.0.11", 5)).toBe(true);
        expect(await ping(ha.vlan10, "10.10.0.12", 2)).toBe(false);
        expect(await ping(ha.vlan20, "10.10.0.2", 2)).toBe(false);
        const info = await ha.lab.info();
        expect(info.tunnels).toEqual([{ name: names[0], type, remote: hb.underlay, key: "5000" }]);
      }, 60_000);
    });
  }
});
