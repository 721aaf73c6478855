// Container-side network benchmark: setup and teardown of one pod's network in bridge mode (the
// pod made by the real bridge + host-local CNI plugins), vmnet against the same steps done by
// `ip`/`ebtables` spawned per step, by one `ip -batch` process (+ ebtables), and by pyroute2 in one
// long-lived process (+ ebtables, as Virtlet); teardown also against the kernel floor (one request
// deleting br0 and tap0, in the state teardown finds them and bare). Then 100 pods set up and torn down concurrently from this process, with
// the event loop's delay recorded (wall, and the loop's own work without its waits for a core),
// beside the same process idle for as long (what the machine alone does to a 1 ms timer).
// Writes bench/results/container-side.json:
// rows { workload, subject: "vmnet", peer, subject_s, peer_s, ratio } (medians of BENCH_RUNS).
// Quick check: BENCH_RUNS=3 BENCH_PODS=5 pnpm bench (inside vmnet-isolate; peers installed first).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { createNetns, deleteNetns, LoopDelayMonitor, openTap, Rtnl } from "@vmnet/netlink-native";
import { execa } from "execa";
import { setupContainerSideNetwork } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PODS = Number(process.env.BENCH_PODS ?? 100);
/** BENCH_CONCURRENT_DHCP=0: the concurrent pods without DHCP servers (to see what their sockets cost). */
const CONCURRENT_DHCP = process.env.BENCH_CONCURRENT_DHCP !== "0";
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, "results");
// The journals go where vmnet's default state directory (/run/vmnet) lives on a systemd host: a
// tmpfs. This VM's /run and /tmp are on its ext4 disk, where creating a file costs 0.2-0.4 ms more
// (BENCH_STATE_BASE=/tmp measures that case).
const onTmpfs = (dir) =>
  readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === dir && line.split(" ")[2] === "tmpfs");
const stateBase = process.env.BENCH_STATE_BASE ?? ["/run", "/dev/shm"].find(onTmpfs) ?? tmpdir();
const stateDir = mkdtempSync(join(stateBase, "csn-bench-state-"));
const journalsIn = `${stateBase} (${onTmpfs(stateBase) ? "tmpfs" : "not tmpfs"})`;
console.log(`journals in ${journalsIn}`);
const ipamDir = mkdtempSync(join(tmpdir(), "csn-bench-ipam-"));
const rows = [];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;
let pods = 0;

const network = {
  cniVersion: "1.0.0",
  name: "csnbench",
  type: "bridge",
  bridge: "csnbench0",
  isGateway: true,
  ipam: {
    type: "host-local",
    dataDir: ipamDir,
    ranges: [[{ subnet: "10.77.0.0/16" }]],
    routes: [{ dst: "0.0.0.0/0" }],
  },
};

async function makePod() {
  const name = `csnb${process.pid}-${pods++}`;
  const { path } = await createNetns(name);
  const r = await execa("/usr/lib/cni/bridge", [], {
    input: JSON.stringify(network),
    env: {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: name,
      CNI_NETNS: path,
      CNI_IFNAME: "eth0",
      CNI_PATH: "/usr/lib/cni",
    },
  });
  const result = JSON.parse(r.stdout);
  const ip = result.ips[0];
  const [address, prefix] = ip.address.split("/");
  const rtnl = await Rtnl.open({ netns: name });
  const mac = (await rtnl.links.get("eth0")).mac;
  rtnl.close();
  return { name, path, result, address, prefix: Number(prefix), gateway: ip.gateway, mac };
}

const NEW_MAC = "0a:aa:bb:cc:dd:ee";
const ebtables = (pod, action) =>
  ["-i", "-o"].map((flag) => [
    "netns",
    "exec",
    pod.name,
    "ebtables",
    action,
    "FORWARD",
    flag,
    "eth0",
    "-p",
    "IPv4",
    "--ip-proto",
    "udp",
    "--ip-dport",
    "67:68",
    "-j",
    "DROP",
  ]);

const ipSetup = (pod) => [
  ["route", "del", "default", "via", pod.gateway, "dev", "eth0"],
  ["addr", "del", `${pod.address}/${pod.prefix}`, "dev", "eth0"],
  ["link", "set", "eth0", "address", NEW_MAC],
  ["tuntap", "add", "dev", "tap0", "mode", "tap"],
  ["link", "set", "tap0", "mtu", "1500"],
  ["link", "add", "br0", "type", "bridge", "ageing_time", "0"],
  ["link", "set", "br0", "mtu", "1500", "txqueuelen", "1000"],
  ["link", "set", "eth0", "master", "br0"],
  ["link", "set", "tap0", "master", "br0"],
  ["link", "set", "br0", "up"],
  ["link", "set", "tap0", "up"],
  ["addr", "add", "169.254.254.2/24", "dev", "br0"],
];
const ipTeardown = (pod) => [
  ["link", "del", "tap0"],
  ["link", "del", "br0"],
  ["link", "set", "eth0", "address", pod.mac],
  ["addr", "add", `${pod.address}/${pod.prefix}`, "dev", "eth0"],
  ["route", "add", "default", "via", pod.gateway, "dev", "eth0"],
];

async function perStep(pod, steps, action) {
  const t = now();
  for (const args of steps) await execa("ip", ["-n", pod.name, ...args]);
  for (const args of ebtables(pod, action)) await execa("ip", args);
  return now() - t;
}

async function batch(pod, steps, action) {
  const t = now();
  await execa("ip", ["-n", pod.name, "-batch", "-"], { input: steps.map((s) => s.join(" ")).join("\n") });
  for (const args of ebtables(pod, action)) await execa("ip", args);
  return now() - t;
}

function pyroute2Peer() {
  const child = spawn("/usr/bin/python3", [join(here, "container-side-pyroute2.py")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on("line", (l) => waiting.shift()?.(JSON.parse(l)));
  const next = () => new Promise((r) => waiting.push(r));
  const ready = next();
  return {
    ready,
    async run(op, pod) {
      const t = now();
      const answer = next();
      child.stdin.write(
        `${JSON.stringify({ op, netns: pod.name, ifname: "eth0", address: pod.address, prefix: pod.prefix, gateway: pod.gateway, mac: pod.mac, newMac: NEW_MAC, mtu: 1500 })}\n`,
      );
      const a = await answer;
      return { total: now() - t, netlink: a.netlink };
    },
    close: () => child.stdin.end(),
  };
}

/**
 * The kernel floor: one request deleting br0 and tap0 (put into a group beforehand, untimed).
 * `asTeardownFinds`: in the state teardown deletes them in (eth0 and tap0 ports of br0, br0 up
 * with its address, tap0 with the VM's queue still attached), which costs the kernel more than
 * a bare br0 and a tap without a queue; both are reported.
 */
async function kernelFloor(pod, asTeardownFinds) {
  const rtnl = await Rtnl.open({ netns: pod.name });
  let tap;
  try {
    tap = await openTap({ name: "tap0", netns: pod.name, persist: true });
    if (!asTeardownFinds) await tap.close();
    await rtnl.links.add({ kind: "bridge", name: "br0", ageingTime: 0, group: 4242 });
    await rtnl.links.set("tap0", { master: "br0", up: true, group: 4242 });
    await rtnl.links.up("br0");
    if (asTeardownFinds) {
      await rtnl.links.set("eth0", { master: "br0" });
      await rtnl.addresses.add("br0", "169.254.254.2/24");
    }
    const t = now();
    await rtnl.links.deleteGroup(4242);
    return now() - t;
  } finally {
    await tap?.close();
    rtnl.close();
  }
}

async function vmnet(pod) {
  const t0 = now();
  const csn = await setupContainerSideNetwork({
    netns: pod.name,
    result: pod.result,
    mode: "bridge",
    dhcp: false,
    stateDir,
  });
  const t1 = now();
  await csn.teardown();
  return { setup: t1 - t0, teardown: now() - t1 };
}

function row(workload, peer, subject_s, peer_s, extra = {}) {
  rows.push({ workload, subject: "vmnet", peer, subject_s, peer_s, ratio: peer_s / subject_s, ...extra });
  console.log(
    `${workload.padEnd(40)} vmnet ${(subject_s * 1e3).toFixed(2)} ms  ${peer.padEnd(18)} ${(peer_s * 1e3).toFixed(2)} ms  (${(peer_s / subject_s).toFixed(2)}x)`,
  );
}

/** A full garbage collection, without running the whole bench under --expose-gc. */
function collectGarbage() {
  v8.setFlagsFromString("--expose-gc");
  runInNewContext("gc")();
}

/**
 * The machine's own share of the event-loop figures: this process doing nothing for `seconds`
 * (no timers but the monitor's), measured the way the pods' phase is. On a virtual machine a
 * timer can fire late because the host did not run the VM, which no code in the process causes.
 */
async function idleWindow(seconds) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  delay.disable();
  return { seconds, max: delay.max / 1e6, p99: delay.percentile(99) / 1e6 };
}

async function main() {
  await execa("ip", ["link", "set", "lo", "up"]);
  const pod = await makePod();
  const py = pyroute2Peer();
  await py.ready;
  const m = {
    vs: [],
    vt: [],
    ps: [],
    pt: [],
    bs: [],
    bt: [],
    ys: [],
    yt: [],
    yns: [],
    ynt: [],
    floor: [],
    bareFloor: [],
    ds: [],
  };
  // Warm-up: one of each (first-use costs: module loading, the kernel's first bridge).
  await vmnet(pod);
  await perStep(pod, ipSetup(pod), "-A");
  await perStep(pod, ipTeardown(pod), "-D");
  for (let i = 0; i < RUNS; i++) {
    const v = await vmnet(pod);
    m.vs.push(v.setup);
    m.vt.push(v.teardown);
    m.ps.push(await perStep(pod, ipSetup(pod), "-A"));
    m.pt.push(await perStep(pod, ipTeardown(pod), "-D"));
    m.bs.push(await batch(pod, ipSetup(pod), "-A"));
    m.bt.push(await batch(pod, ipTeardown(pod), "-D"));
    const ys = await py.run("setup", pod);
    const yt = await py.run("teardown", pod);
    m.ys.push(ys.total);
    m.yns.push(ys.netlink);
    m.yt.push(yt.total);
    m.ynt.push(yt.netlink);
    m.floor.push(await kernelFloor(pod, true));
    m.bareFloor.push(await kernelFloor(pod, false));
    const t = now();
    const csn = await setupContainerSideNetwork({
      netns: pod.name,
      result: pod.result,
      mode: "bridge",
      stateDir,
    });
    m.ds.push(now() - t);
    await csn.teardown();
  }
  py.close();
  const vs = median(m.vs);
  const vt = median(m.vt);
  row("setup (bridge mode, one pod)", "iproute2 per step", vs, median(m.ps));
  row("setup (bridge mode, one pod)", "ip -batch", vs, median(m.bs));
  row("setup (bridge mode, one pod)", "pyroute2", vs, median(m.ys), { peer_netlink_s: median(m.yns) });
  row("teardown (bridge mode, one pod)", "iproute2 per step", vt, median(m.pt));
  row("teardown (bridge mode, one pod)", "ip -batch", vt, median(m.bt));
  row("teardown (bridge mode, one pod)", "pyroute2", vt, median(m.yt), { peer_netlink_s: median(m.ynt) });
  row(
    "teardown (bridge mode, one pod)",
    "kernel floor (br0 with eth0 and tap0 as ports, tap0 queue attached)",
    vt,
    median(m.floor),
  );
  row(
    "teardown (bridge mode, one pod)",
    "kernel floor (bare br0 and tap0, no queue)",
    vt,
    median(m.bareFloor),
  );
  console.log(`setup with the DHCP server started too: ${(median(m.ds) * 1e3).toFixed(2)} ms (median)`);

  // Many pods at once from one process.
  const many = [];
  for (let i = 0; i < PODS; i++) many.push(await makePod());
  // The window starts with a collected heap: making the pods (a hundred CNI plugin runs through
  // execa) leaves megabytes of survivors in V8's young generation, which the window's first
  // scavenge would otherwise promote (a 14 ms pause here) and count against the pods.
  collectGarbage();
  const pauses = [];
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  gcs.observe({ entryTypes: ["gc"] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  // The same ticks split into the loop's own work and its waits for a core (see LoopDelayMonitor).
  const split = new LoopDelayMonitor().start();
  delay.enable();
  const t0 = now();
  const settled = await Promise.allSettled(
    many.map((p) =>
      setupContainerSideNetwork({
        netns: p.name,
        result: p.result,
        mode: "bridge",
        stateDir,
        dhcp: CONCURRENT_DHCP,
      }),
    ),
  );
  const t1 = now();
  const ok = settled.filter((s) => s.status === "fulfilled").map((s) => s.value);
  const torn = await Promise.allSettled(ok.map((c) => c.teardown()));
  const t2 = now();
  delay.disable();
  const own = split.stop();
  gcs.disconnect();
  const gcMaxMs = Math.max(0, ...pauses);
  const idle = await idleWindow(t2 - t0);
  const failures =
    settled.filter((s) => s.status === "rejected").length +
    torn.filter((s) => s.status === "rejected").length;
  for (const s of [...settled, ...torn]) if (s.status === "rejected") console.error(s.reason);
  const maxDelayMs = delay.max / 1e6;
  rows.push({
    workload: `${PODS} pods set up concurrently (bridge mode, DHCP ${CONCURRENT_DHCP ? "on" : "off"})`,
    subject: "vmnet",
    peer: null,
    subject_s: t1 - t0,
    peer_s: null,
    teardown_s: t2 - t1,
    failures,
    event_loop_max_ms: maxDelayMs,
    event_loop_p99_ms: delay.percentile(99) / 1e6,
    event_loop_own_work_max_ms: own.selfMax,
    event_loop_waited_for_core_ms: own.runQueueWaitMs,
    gc_pauses: pauses.length,
    gc_pause_max_ms: gcMaxMs,
    idle_window_s: idle.seconds,
    idle_event_loop_max_ms: idle.max,
    idle_event_loop_p99_ms: idle.p99,
  });
  console.log(
    `${PODS} pods: setup ${(t1 - t0).toFixed(3)} s, teardown ${(t2 - t1).toFixed(3)} s, failures ${failures}, event loop max ${maxDelayMs.toFixed(1)} ms (own work ${own.selfMax.toFixed(1)} ms; ${pauses.length} GC pauses, longest ${gcMaxMs.toFixed(1)} ms), p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
  );
  console.log(
    `the same process idle for ${idle.seconds.toFixed(1)} s right after: event loop max ${idle.max.toFixed(1)} ms, p99 ${idle.p99.toFixed(1)} ms`,
  );
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, "container-side.json"),
    `${JSON.stringify({ runs: RUNS, pods: PODS, load: (await import("node:os")).loadavg(), journals_in: journalsIn, rows }, null, 2)}\n`,
  );
  for (const p of [pod, ...many]) await deleteNetns(p.name);
  await execa("ip", ["link", "del", "csnbench0"], { reject: false });
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(ipamDir, { recursive: true, force: true });
}

await main();
