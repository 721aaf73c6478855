// An Open vSwitch bridge on the kernel datapath (the openvswitch module the host kernel lacks),
// made by vmnet's Bridges on a private OVS: container taps on VLAN 10 reach each other, one on
// VLAN 20 is not reached, and the kernel's datapath holds the ports.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createNetns, deleteNetns } from "@vmnet/netlink-native";
import { OvsSandbox } from "@vmnet/ovs";
import { Bridges } from "@vmnet/vmnet";
import { afterAll, describe, expect, it } from "vitest";
import { ping, sysctl } from "./support.js";

const run = promisify(execFile);
const made: string[] = [];
const stops: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
  for (const ns of made) await deleteNetns(ns).catch(() => {});
});

async function netns(name: string): Promise<string> {
  await createNetns(name);
  made.push(name);
  await sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1");
  await sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1");
  return name;
}

describe("OVS on the kernel datapath", () => {
  it("isolates VLANs on a system-datapath bridge made by Bridges", async () => {
    await run("modprobe", ["openvswitch"]);
    const sw = await netns("kdp-sw");
    const ovs = await OvsSandbox.start({ netns: sw, vswitch: { datapathType: "system" } });
    stops.push(() => ovs.stop());
    const bridges = await Bridges.open({ db: ovs.remote, netns: sw, datapathType: "system" });
    stops.push(() => bridges.destroy().then(() => bridges.close()));
    const lab = await bridges.get("klab");
    const hosts = [
      { ns: await netns("kdp-a"), vlan: 10, address: "10.62.0.1/24", mac: "52:54:00:00:62:01" },
      { ns: await netns("kdp-b"), vlan: 10, address: "10.62.0.2/24", mac: "52:54:00:00:62:02" },
      { ns: await netns("kdp-c"), vlan: 20, address: "10.62.0.3/24", mac: "52:54:00:00:62:03" },
    ];
    for (const h of hosts) {
      await lab.createContainerTap({ netns: h.ns, mac: h.mac, index: 0, vlan: h.vlan, address: h.address });
    }
    expect((await ping("kdp-a", "10.62.0.2", 3, 0.2)).received).toBe(3);
    expect((await ping("kdp-a", "10.62.0.3", 3, 0.2)).received).toBe(0);
    // The kernel datapath (not ovs-netdev) carries the bridge.
    const dp = await run("ip", ["netns", "exec", sw, "ovs-dpctl", "show"]);
    expect(dp.stdout).toMatch(/system@ovs-system/);
    expect(dp.stdout).toMatch(/port \d+: klab/);
  });
});
