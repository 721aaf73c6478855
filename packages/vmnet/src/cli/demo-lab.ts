// Part 1 of `vmnet demo`: minimega's side. A private OVS in its own netns; a lab bridge with VM
// taps (kernel TAPs, made in one batch, as qemu would use them) and "VMs" played by namespaces on
// two VLANs, a container tap, a trunk to a second switch, a whole-bridge capture through a mirror,
// a rate limit (and a delay, where the kernel has netem), NetFlow, IP snooping and bandwidth.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { Bridges } from "../bridges/bridges.js";
import { type Cleanup, iperf, mbit, netns, ping } from "./demo-kit.js";

interface Guest {
  role: string;
  ns: string;
  vlan: number;
  ip: string;
  mac: string;
  tap?: string;
  bridge: "lab" | "uplink";
}

export interface LabReport {
  reachability: { from: string; to: string; expected: boolean; reached: boolean }[];
  rate: { configured: string; measuredBps: number | undefined };
  delay: string;
  capturedPackets: number;
  netflowRecords: number;
  snooped: Record<string, string[]>;
  bandwidth: Record<string, { rxMBps: number; txMBps: number } | undefined>;
  vmTaps: string[];
}

export async function runLab(cleanup: Cleanup, prefix: string, log: (l: string) => void): Promise<LabReport> {
  const sw = await netns(cleanup, `${prefix}-sw`);
  const ovs = await OvsSandbox.start({ netns: sw });
  cleanup.push(() => ovs.stop());
  const bridges = await Bridges.open({
    db: ovs.remote,
    netns: sw,
    datapathType: "netdev",
    owner: "vmnet-demo",
  });
  cleanup.push(() => bridges.destroy());
  log(`switch: private Open vSwitch in netns ${sw} (userspace datapath)`);
  const lab = await bridges.get("lab");
  const uplink = await bridges.get("uplink");

  // VM taps as qemu uses them: persistent kernel TAPs, tagged, made in one batch.
  const vmTaps = await lab.createTaps([
    { vlan: 10, mac: "52:54:00:00:10:01" },
    { vlan: 20, mac: "52:54:00:00:20:01" },
  ]);
  log(`VM taps (kernel TAPs for qemu, one batch): ${vmTaps.join(", ")} on VLANs 10 and 20`);

  // "VMs" played by namespaces, and a container, attached through container taps (veth).
  const guests: Guest[] = [
    { role: "vm-a", ns: "", vlan: 10, ip: "10.0.0.1", mac: "52:54:00:0a:00:01", bridge: "lab" },
    { role: "vm-b", ns: "", vlan: 10, ip: "10.0.0.2", mac: "52:54:00:0a:00:02", bridge: "lab" },
    { role: "vm-c", ns: "", vlan: 20, ip: "10.0.0.3", mac: "52:54:00:0a:00:03", bridge: "lab" },
    { role: "container", ns: "", vlan: 20, ip: "10.0.0.4", mac: "02:42:0a:00:00:04", bridge: "lab" },
    { role: "far", ns: "", vlan: 20, ip: "10.0.0.5", mac: "52:54:00:0a:00:05", bridge: "uplink" },
  ];
  for (const g of guests) {
    g.ns = await netns(cleanup, `${prefix}-${g.role}`);
    const br = g.bridge === "lab" ? lab : uplink;
    g.tap = await br.createContainerTap({ netns: g.ns, vlan: g.vlan, mac: g.mac, address: `${g.ip}/24` });
    log(`${g.role.padEnd(9)} netns ${g.ns}: ${g.ip}/24 on ${g.bridge} VLAN ${g.vlan} through ${g.tap}`);
  }
  // A trunk: a veth joining lab and a second switch "uplink"; VLAN 20 spans both.
  await execa("ip", ["-n", sw, "link", "add", "trunk-a", "type", "veth", "peer", "name", "trunk-b"]);
  await lab.addTrunk("trunk-a");
  await uplink.addTrunk("trunk-b");
  log("trunk: lab:trunk-a <-> uplink:trunk-b (all VLANs)");

  const snooper = await bridges.startSnooping("lab");
  const dir = await mkdtemp(join(tmpdir(), "vmnet-demo-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const capture = await lab.capture({ file: join(dir, "lab.pcap"), filter: "icmp" });
  log(`capture: whole bridge through mirror -> host tap ${capture.iface}, icmp to ${capture.file}`);
  const netflow = await lab.newNetflow(1);
  log(`NetFlow: lab exports to ${netflow.receiver.target} (collector in the switch's netns)`);

  const [a, b, c, ct, far] = guests as [Guest, Guest, Guest, Guest, Guest];
  const pairs: [Guest, Guest, boolean][] = [
    [a, b, true],
    [c, ct, true],
    [c, far, true],
    [a, c, false],
    [a, ct, false],
    [b, far, false],
  ];
  const reachability: LabReport["reachability"] = [];
  for (const [from, to, expected] of pairs) {
    const reached = await ping(from.ns, to.ip, expected ? 5 : 1);
    reachability.push({ from: from.role, to: to.role, expected, reached });
    log(
      `ping ${from.role} -> ${to.role} (VLAN ${from.vlan} -> ${to.vlan}): ${reached ? "replies" : "no reply"}${reached === expected ? (expected ? "" : ", as it must") : "  <-- WRONG"}`,
    );
  }

  // QoS on vm-a's tap: 20 Mbit/s toward vm-a; a delay needs netem, which some kernels lack.
  let delay = "50ms applied";
  try {
    await lab.updateQos(a.tap as string, { rate: "20mbit", delay: "50ms" });
  } catch (e) {
    delay = `unavailable on this kernel (${(e as Error).message.split("\n")[0]})`;
    await lab.updateQos(a.tap as string, { rate: "20mbit" });
  }
  const qos = await lab.getQos(a.tap as string);
  log(
    `QoS on ${a.tap}: rate ${qos.rate ? mbit(qos.rate * 8) : "none"} (read back: ${qos.qdiscs.map((q) => q.kind).join("+")}); delay ${delay}`,
  );
  const sampler = bridges.startBandwidth({ intervalMs: 1000, samples: 10 });
  const measured = await iperf(a.ns, b.ns, a.ip, 3);
  log(`iperf3 vm-b -> vm-a: ${mbit(measured)} (configured 20.0 Mbit/s)`);
  await sleep(1100);
  await sampler.sample();

  await sleep(1500);
  const stats = await lab.stopCapture(capture.id);
  await snooper.flush();
  const taps = await bridges.taps();
  const snooped: LabReport["snooped"] = {};
  const bandwidth: LabReport["bandwidth"] = {};
  for (const t of taps) {
    const who = guests.find((g) => g.tap === t.name)?.role ?? t.name;
    snooped[who] = [...t.ipv4, ...t.ipv6];
    bandwidth[who] = t.bandwidth ? { rxMBps: t.bandwidth.rxMBps, txMBps: t.bandwidth.txMBps } : undefined;
  }
  log(`captured ${stats.packets} ICMP packets (${stats.bytes} bytes) through the mirror`);
  log(
    `NetFlow records: ${netflow.records.length} (${new Set(netflow.records.map((r) => `${r.srcAddr}>${r.dstAddr}`)).size} src>dst pairs)`,
  );
  log(
    `snooped IPs: ${Object.entries(snooped)
      .filter(([, v]) => v.length)
      .map(([k, v]) => `${k}=${v.join(",")}`)
      .join(" ")}`,
  );
  log(
    `bandwidth (MB/s, rx/tx, averaged): ${Object.entries(bandwidth)
      .filter(([, v]) => v && (v.rxMBps > 0.01 || v.txMBps > 0.01))
      .map(([k, v]) => `${k} ${v?.rxMBps.toFixed(2)}/${v?.txMBps.toFixed(2)}`)
      .join(", ")}`,
  );
  return {
    reachability,
    rate: { configured: "20mbit", measuredBps: measured },
    delay,
    capturedPackets: stats.packets,
    netflowRecords: netflow.records.length,
    snooped,
    bandwidth,
    vmTaps,
  };
}
