// Bridges benchmark: N taps created (kernel TAP, tagged, up, on an OVS bridge) and then destroyed,
// every side waiting until ovs-vswitchd has applied the change. vmnet (Bridge.createTaps /
// destroyTaps: one netlink batch + one OVSDB transaction; one transaction + one group delete)
// against
//   - minimega's way: per tap `ip tuntap add` + `ip link set up` + `ovs-vsctl add-port ... tag=`;
//     destroy `ovs-vsctl del-port` + `ip link del` per tap. Measured on BENCH_MINIMEGA_N taps
//     (default 200) and scaled linearly to N. minimega's cost per tap GROWS with the bridge, so
//     the scaled figure flatters minimega (the ratio is a lower bound).
//   - the best shell way: one `ip -batch` for all taps (add, group, up) + one chained `ovs-vsctl`;
//     destroy one chained `ovs-vsctl del-port ...` + `ip link del group`.
// Plus N = 5000 (vmnet, the shell way and the ovs-vswitchd floor) to show how the cost per tap
// grows with the bridge, and the floor: ovs-vswitchd alone applying the ports (taps made before).
// Each run uses a fresh netns with a private OVS (userspace datapath). ip and ovs-vsctl reach it
// without `ip netns exec` (ip -n; ovs-vsctl over the database socket), so no side pays for it.
// Writes bench/results/bridges.json: rows { workload, subject: "vmnet", peer, subject_s, peer_s,
// ratio } (medians of BENCH_RUNS, default 3). Quick check (small N, while others work):
//   BENCH_ONLY=bridges BENCH_N=50 BENCH_BIG_N=100 BENCH_MINIMEGA_N=20 BENCH_RUNS=1 pnpm bench
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns } from "@vmnet/netlink-native";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { Bridges } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_N ?? 1000);
const BIG_N = Number(process.env.BENCH_BIG_N ?? 5000);
const MINIMEGA_N = Math.min(N, Number(process.env.BENCH_MINIMEGA_N ?? 200));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Runs at BIG_N (each takes a minute or more). */
const BIG_RUNS = Number(process.env.BENCH_BIG_RUNS ?? 1);
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, "results");
const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tagOf = (i) => 1 + (i % 100);
let seq = 0;

async function withSwitch(fn) {
  const ns = `bb${process.pid}x${++seq}`;
  await createNetns(ns);
  const ovs = await OvsSandbox.start({ netns: ns });
  try {
    await ovs.vswitch.addBridge({ name: "bench" });
    return await fn({ ns, ovs });
  } finally {
    await ovs.stop();
    deleteNetns(ns);
    // The kernel finishes a namespace's teardown in the background: let it settle so the next
    // run (of any side) does not pay for this one's.
    await new Promise((r) => setTimeout(r, 1000 + settleMs));
  }
}
let settleMs = 0;

const vsctl = (ovs, args) => execa("ovs-vsctl", [`--db=${ovs.remote}`, ...args]);

async function vmnet(n) {
  return withSwitch(async ({ ns, ovs }) => {
    const bridges = await Bridges.open({ db: ovs.remote, netns: ns, datapathType: "netdev", owner: "bench" });
    try {
      const bridge = await bridges.existing("bench");
      const specs = Array.from({ length: n }, (_, i) => ({ name: `t${i}`, vlan: tagOf(i) }));
      const t0 = now();
      const names = await bridge.createTaps(specs);
      const t1 = now();
      await bridge.destroyTaps(names);
      const t2 = now();
      return { create: t1 - t0, destroy: t2 - t1 };
    } finally {
      await bridges.close();
    }
  });
}

async function minimega(n) {
  return withSwitch(async ({ ns, ovs }) => {
    const t0 = now();
    for (let i = 0; i < n; i++) {
      await execa("ip", ["-n", ns, "tuntap", "add", "name", `t${i}`, "mode", "tap"]);
      await execa("ip", ["-n", ns, "link", "set", `t${i}`, "up"]);
      await vsctl(ovs, ["add-port", "bench", `t${i}`, `tag=${tagOf(i)}`]);
    }
    const t1 = now();
    for (let i = 0; i < n; i++) {
      await vsctl(ovs, ["del-port", "bench", `t${i}`]);
      await execa("ip", ["-n", ns, "link", "del", `t${i}`]);
    }
    const t2 = now();
    return { create: t1 - t0, destroy: t2 - t1 };
  });
}

async function shell(n) {
  return withSwitch(async ({ ns, ovs }) => {
    const group = 4242;
    const batch = [];
    for (let i = 0; i < n; i++) {
      batch.push(`tuntap add name t${i} mode tap`, `link set t${i} group ${group}`, `link set t${i} up`);
    }
    const add = [];
    const del = [];
    for (let i = 0; i < n; i++) {
      add.push("--", "add-port", "bench", `t${i}`, `tag=${tagOf(i)}`);
      del.push("--", "del-port", "bench", `t${i}`);
    }
    const t0 = now();
    await execa("ip", ["-n", ns, "-batch", "-"], { input: `${batch.join("\n")}\n` });
    await vsctl(ovs, add);
    const t1 = now();
    await vsctl(ovs, del);
    await execa("ip", ["-n", ns, "link", "del", "group", String(group)]);
    const t2 = now();
    return { create: t1 - t0, destroy: t2 - t1 };
  });
}

// What ovs-vswitchd alone needs to apply N ports (the same chained ovs-vsctl as the shell way,
// the taps made beforehand and not timed): a floor every side pays, shown beside the others.
async function floor(n) {
  return withSwitch(async ({ ns, ovs }) => {
    const group = 4243;
    const batch = [];
    const add = [];
    const del = [];
    for (let i = 0; i < n; i++) {
      batch.push(`tuntap add name t${i} mode tap`, `link set t${i} group ${group}`, `link set t${i} up`);
      add.push("--", "add-port", "bench", `t${i}`, `tag=${tagOf(i)}`);
      del.push("--", "del-port", "bench", `t${i}`);
    }
    await execa("ip", ["-n", ns, "-batch", "-"], { input: `${batch.join("\n")}\n` });
    // Untimed, so the kernel's own follow-up work on the new taps is done before the clock starts.
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = now();
    await vsctl(ovs, add);
    const t1 = now();
    await vsctl(ovs, del);
    const t2 = now();
    await execa("ip", ["-n", ns, "link", "del", "group", String(group)]);
    return { create: t1 - t0, destroy: t2 - t1 };
  });
}

async function measure(label, fn, runs = RUNS) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    settleMs = label.includes(String(BIG_N)) ? BIG_N : 0;
    const s = await fn();
    samples.push(s);
    console.log(
      `  ${label} run ${r + 1}: create ${s.create.toFixed(3)} s, destroy ${s.destroy.toFixed(3)} s`,
    );
  }
  return {
    create: median(samples.map((s) => s.create)),
    destroy: median(samples.map((s) => s.destroy)),
    samples,
  };
}

const load = (await execa("cat", ["/proc/loadavg"])).stdout;
console.log(
  `bridges bench: N=${N}, big N=${BIG_N}, minimega measured on ${MINIMEGA_N}, runs=${RUNS}, load ${load}`,
);
const v = await measure(`vmnet ${N}`, () => vmnet(N));
const vBig = await measure(`vmnet ${BIG_N}`, () => vmnet(BIG_N), BIG_RUNS);
const s = await measure(`shell ${N}`, () => shell(N));
const sBig = await measure(`shell ${BIG_N}`, () => shell(BIG_N), BIG_RUNS);
const f = await measure(`ovs-vswitchd floor ${N}`, () => floor(N));
const fBig = await measure(`ovs-vswitchd floor ${BIG_N}`, () => floor(BIG_N), BIG_RUNS);
const m = await measure(`minimega ${MINIMEGA_N}`, () => minimega(MINIMEGA_N));
const scale = N / MINIMEGA_N;
const ratio = (peer, subject) => Number((peer / subject).toFixed(2));
const rows = [];
for (const op of ["create", "destroy"]) {
  rows.push({
    workload: `${op} ${N} taps (tagged, up, on a bridge; applied by ovs-vswitchd)`,
    subject: "vmnet",
    peer: "minimega's way",
    subject_s: v[op],
    peer_s: m[op] * scale,
    ratio: ratio(m[op] * scale, v[op]),
    note: `minimega's way measured on ${MINIMEGA_N} taps (${m[op].toFixed(3)} s) and scaled x${scale}; its per-tap cost grows with the bridge, so this is a lower bound`,
  });
  rows.push({
    workload: `${op} ${N} taps (tagged, up, on a bridge; applied by ovs-vswitchd)`,
    subject: "vmnet",
    peer: "ip -batch + chained ovs-vsctl",
    subject_s: v[op],
    peer_s: s[op],
    ratio: ratio(s[op], v[op]),
  });
  rows.push({
    workload: `${op} ${N} taps (tagged, up, on a bridge; applied by ovs-vswitchd)`,
    subject: "vmnet",
    peer: "ovs-vswitchd floor",
    subject_s: v[op],
    peer_s: f[op],
    ratio: ratio(f[op], v[op]),
    note: `the floor is one chained ovs-vsctl ${op === "create" ? "adding" : "removing"} ${N} ports of taps made beforehand (not timed), until ovs-vswitchd has applied it: what every side waits for`,
  });
  const growth = (big, small) => Number((big[op] / BIG_N / (small[op] / N)).toFixed(2));
  rows.push({
    workload: `${op} ${BIG_N} taps: cost per tap vs ${N}`,
    subject: "ip -batch + chained ovs-vsctl",
    peer: `itself at ${N}`,
    subject_s: sBig[op],
    peer_s: s[op],
    per_tap_ms: { [BIG_N]: (sBig[op] / BIG_N) * 1000, [N]: (s[op] / N) * 1000 },
    growth: growth(sBig, s),
  });
  rows.push({
    workload: `${op} ${BIG_N} ports: ovs-vswitchd floor per port vs ${N}`,
    subject: "ovs-vswitchd floor",
    peer: `itself at ${N}`,
    subject_s: fBig[op],
    peer_s: f[op],
    per_tap_ms: { [BIG_N]: (fBig[op] / BIG_N) * 1000, [N]: (f[op] / N) * 1000 },
    growth: growth(fBig, f),
  });
  rows.push({
    workload: `${op} ${BIG_N} taps: cost per tap vs ${N}`,
    subject: "vmnet",
    peer: `vmnet at ${N}`,
    subject_s: vBig[op],
    peer_s: v[op],
    per_tap_ms: { [BIG_N]: (vBig[op] / BIG_N) * 1000, [N]: (v[op] / N) * 1000 },
    growth: Number((vBig[op] / BIG_N / (v[op] / N)).toFixed(2)),
  });
}
for (const r of rows) console.log(JSON.stringify(r));
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, "bridges.json"),
  `${JSON.stringify({ date: new Date().toISOString(), load, N, BIG_N, MINIMEGA_N, RUNS, rows, samples: { vmnet: v.samples, vmnetBig: vBig.samples, shell: s.samples, shellBig: sBig.samples, floor: f.samples, floorBig: fBig.samples, minimega: m.samples } }, null, 2)}\n`,
);
