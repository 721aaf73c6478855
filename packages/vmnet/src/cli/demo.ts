// `vmnet demo`: the embedded default end to end. A private Open vSwitch (userspace datapath) runs
// in a namespace of its own; three hosts, each in its own namespace, hang off it on VLANs; pings
// that must pass and must not pass prove the isolation; a real CNI plugin's result is parsed;
// per-port statistics are read from the kernel. Every step registers its undo, and everything is
// removed afterwards, also on failure. Nothing touches the machine's own interfaces.
import { mkdtempSync, rmSync } from "node:fs";
import { access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultGateway, parseResult, toCurrent } from "@vmnet/cni-result";
import { createNetns, deleteNetns, Rtnl } from "@vmnet/netlink-native";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";

type Undo = () => unknown;

interface DemoHost {
  name: string;
  tag: number;
  address: string;
}

const HOSTS: DemoHost[] = [
  { name: "h1", tag: 10, address: "10.0.0.1" },
  { name: "h2", tag: 10, address: "10.0.0.2" },
  { name: "h3", tag: 20, address: "10.0.0.3" },
];

async function ping(netns: string, address: string, attempts: number): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const r = await execa("ip", ["netns", "exec", netns, "ping", "-c", "1", "-W", "1", address], {
      reject: false,
    });
    if (r.exitCode === 0) return true;
  }
  return false;
}

async function runCniPtp(
  netns: string,
  hostNetns: string,
  log: (l: string) => void,
): Promise<string | undefined> {
  const plugin = "/usr/lib/cni/ptp";
  try {
    await access(plugin);
  } catch {
    log("  (skipped: the CNI plugins are not installed: apt-get install containernetworking-plugins)");
    return undefined;
  }
  const dataDir = mkdtempSync(join(tmpdir(), "vmnet-demo-ipam-"));
  const config = JSON.stringify({
    cniVersion: "1.0.0",
    name: "vmnet-demo",
    type: "ptp",
    ipam: { type: "host-local", subnet: "10.9.0.0/24", routes: [{ dst: "0.0.0.0/0" }], dataDir },
  });
  const env = {
    CNI_CONTAINERID: `vmnet-demo-${process.pid}`,
    CNI_NETNS: `/run/netns/${netns}`,
    CNI_IFNAME: "eth0",
    CNI_PATH: "/usr/lib/cni",
  };
  // The plugin makes its host-side veth where it runs: in the demo's switch namespace.
  const run = (command: string) =>
    execa("ip", ["netns", "exec", hostNetns, plugin], {
      input: config,
      env: { ...env, CNI_COMMAND: command },
      reject: false,
    });
  try {
    const add = await run("ADD");
    if (add.exitCode !== 0) throw new Error(`CNI ptp ADD failed: ${add.stdout || add.stderr}`);
    const result = toCurrent(parseResult(add.stdout));
    const ip = result.ips?.[0];
    return `CNI ${result.cniVersion} result from the real ptp plugin: ${result.interfaces?.length ?? 0} interfaces, ${ip?.address} gateway ${defaultGateway(result) ?? ip?.gateway ?? "none"}`;
  } finally {
    await run("DEL");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runDemo(log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const undo: Undo[] = [];
  const suffix = `${process.pid}`;
  const nsName = (role: string) => `vmnet-demo-${role}-${suffix}`;
  try {
    const sw = nsName("sw");
    await createNetns(sw);
    undo.push(() => deleteNetns(sw));
    log(`netns ${sw}: a private Open vSwitch (ovsdb-server + ovs-vswitchd, userspace datapath)`);
    const ovs = await OvsSandbox.start({ netns: sw });
    undo.push(() => ovs.stop());
    await ovs.vswitch.addBridge({ name: "br0" });
    const swRtnl = await Rtnl.open({ netns: sw });
    undo.push(() => swRtnl.close());

    for (const h of HOSTS) {
      const ns = nsName(h.name);
      await createNetns(ns);
      undo.push(() => deleteNetns(ns));
      const rtnl = await Rtnl.open({ netns: ns });
      undo.push(() => rtnl.close());
      const port = `${h.name}-port`;
      await rtnl.links.add({ kind: "veth", name: "eth0", peer: { name: port, netns: sw }, up: true });
      await rtnl.addresses.add("eth0", `${h.address}/24`);
      await swRtnl.links.up(port);
      await ovs.vswitch.addPort("br0", { name: port, tag: h.tag });
      log(`host ${h.name} (netns ${ns}): eth0 ${h.address}/24, switch port ${port} on VLAN ${h.tag}`);
    }

    const [h1, h2, h3] = HOSTS as [DemoHost, DemoHost, DemoHost];
    const sameVlan = await ping(nsName(h1.name), h2.address, 5);
    log(`ping ${h1.name} -> ${h2.name} (same VLAN ${h1.tag}): ${sameVlan ? "replies" : "NO REPLY"}`);
    const otherVlan = await ping(nsName(h1.name), h3.address, 1);
    log(
      `ping ${h1.name} -> ${h3.name} (VLAN ${h3.tag}): ${otherVlan ? "REPLIES (isolation broken)" : "no reply, as it must"}`,
    );
    if (!sameVlan || otherVlan) throw new Error("the switch did not isolate VLANs as configured");

    const cniNs = nsName("pod");
    await createNetns(cniNs);
    undo.push(() => deleteNetns(cniNs));
    const cni = await runCniPtp(cniNs, sw, log);
    if (cni) log(cni);

    const stats = await swRtnl.links.stats();
    for (const h of HOSTS) {
      const s = stats.get(`${h.name}-port`);
      if (s)
        log(
          `port ${h.name}-port: rx ${s.rxPackets} packets / ${s.rxBytes} bytes, tx ${s.txPackets} packets / ${s.txBytes} bytes`,
        );
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    return `vmnet demo: OK in ${seconds} s (3 hosts on 2 VLANs, isolation verified${cni ? ", CNI result parsed" : ""}; everything removed)`;
  } finally {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`vmnet demo: cleanup step failed: ${(error as Error).message}`);
      }
    }
  }
}
