// pnpm bench: 1000 tagged (internal) ports added and deleted, vmnet (one OVSDB transaction) vs
// ovs-vsctl chained (one process, one transaction) vs ovs-vsctl per port (one process each, on 200
// ports: at 1000 it takes minutes). Two kinds of rows, never mixed:
//   committed: the database has it (vmnet wait:false, ovs-vsctl --no-wait);
//   applied:   ovs-vswitchd has it (cur_cfg caught up: vmnet wait:true, ovs-vsctl's default).
// Each timing is the median of BENCH_RUNS runs (default 3), all in the same run of this script,
// inside vmnet-isolate, on a sandbox switch (userspace datapath). Next to the applied rows goes
// "vswitchd_catch_up_after_vmnet_nowait_s": after vmnet's no-wait commit of the same N ports has
// returned, how long until ovs-vswitchd reports it applied (cur_cfg caught up, observed by a
// Vswitch.sync(), which itself commits one more next_cfg bump). It is what ovs-vswitchd spends on
// the change after the database has it, not a lower bound of the applied rows (each side's applied
// time overlaps the commit with ovs-vswitchd's work). Then a few experiments on what lowers the cost of
// deleting ports. Writes bench/results/ports.json.
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { execa } from "execa";
import { OvsSandbox } from "../dist/index.js";

const N = Number(process.env.BENCH_PORTS ?? 1000);
const PER_PORT_N = Number(process.env.BENCH_PER_PORT ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BR = "bench0";

const sandbox = await OvsSandbox.start();
const v = sandbox.vswitch;
await v.addBridge({ name: BR });
const vsctlBase = [`--db=${sandbox.remote}`];
const vsctl = (args, wait) => execa("ovs-vsctl", [...vsctlBase, ...(wait ? [] : ["--no-wait"]), ...args]);

const names = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const specs = (list) => list.map((name, i) => ({ name, type: "internal", tag: (i % 100) + 1 }));
const chainedAdd = (list) =>
  list.flatMap((name, i) => [
    "--",
    "add-port",
    BR,
    name,
    `tag=${(i % 100) + 1}`,
    "--",
    "set",
    "Interface",
    name,
    "type=internal",
  ]);
const chainedDel = (list) => list.flatMap((name) => ["--", "del-port", BR, name]);

const seconds = (t0) => (performance.now() - t0) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Times fn, then waits (untimed) until ovs-vswitchd is idle so the next measurement starts clean. */
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  const s = seconds(t0);
  const t1 = performance.now();
  await v.sync();
  return { s, settle: seconds(t1) };
}

const samples = {};
const add = (key, value) => {
  samples[key] ??= [];
  samples[key].push(value);
};

const load = loadavg();
console.log(
  `load average before: ${load.map((x) => x.toFixed(2)).join(" ")}; ${RUNS} runs, ${N} ports (per-port peer: ${PER_PORT_N})`,
);

for (let run = 0; run < RUNS; run++) {
  for (const mode of ["committed", "applied"]) {
    const wait = mode === "applied";
    const big = names(N, "p");
    const small = names(PER_PORT_N, "q");
    // vmnet, N ports
    let r = await timed(() => v.addPorts(BR, specs(big), { wait }));
    add(`${mode}:add:vmnet:${N}`, r.s);
    if (!wait) add(`vswitchd-catch-up-after-vmnet-nowait:add:${N}`, r.settle);
    r = await timed(() => v.deletePorts(big, { wait }));
    add(`${mode}:del:vmnet:${N}`, r.s);
    if (!wait) add(`vswitchd-catch-up-after-vmnet-nowait:del:${N}`, r.settle);
    // ovs-vsctl chained, N ports
    r = await timed(() => vsctl(chainedAdd(big), wait));
    add(`${mode}:add:chained:${N}`, r.s);
    r = await timed(() => vsctl(chainedDel(big), wait));
    add(`${mode}:del:chained:${N}`, r.s);
    // vmnet, PER_PORT_N ports (like with like for the per-port peer)
    r = await timed(() => v.addPorts(BR, specs(small), { wait }));
    add(`${mode}:add:vmnet:${PER_PORT_N}`, r.s);
    r = await timed(() => v.deletePorts(small, { wait }));
    add(`${mode}:del:vmnet:${PER_PORT_N}`, r.s);
    // ovs-vsctl per port, PER_PORT_N ports
    r = await timed(async () => {
      for (const [i, name] of small.entries())
        await vsctl(
          ["add-port", BR, name, `tag=${(i % 100) + 1}`, "--", "set", "Interface", name, "type=internal"],
          wait,
        );
    });
    add(`${mode}:add:perport:${PER_PORT_N}`, r.s);
    r = await timed(async () => {
      for (const name of small) await vsctl(["del-port", BR, name], wait);
    });
    add(`${mode}:del:perport:${PER_PORT_N}`, r.s);
    console.log(`run ${run + 1} ${mode} done`);
  }
}

const m = (key) => median(samples[key]);
const rows = [];
for (const mode of ["committed", "applied"]) {
  for (const [op, verb] of [
    ["add", "add"],
    ["del", "delete"],
  ]) {
    const catchUp =
      mode === "applied"
        ? { vswitchd_catch_up_after_vmnet_nowait_s: m(`vswitchd-catch-up-after-vmnet-nowait:${op}:${N}`) }
        : {};
    rows.push({
      workload: `${mode}: ${verb} ${N} tagged internal ports`,
      subject: "vmnet",
      peer: "ovs-vsctl chained",
      subject_s: m(`${mode}:${op}:vmnet:${N}`),
      peer_s: m(`${mode}:${op}:chained:${N}`),
      ...catchUp,
    });
    rows.push({
      workload: `${mode}: ${verb} ${PER_PORT_N} tagged internal ports (per-port peer measured on ${PER_PORT_N})`,
      subject: "vmnet",
      peer: "ovs-vsctl per port",
      subject_s: m(`${mode}:${op}:vmnet:${PER_PORT_N}`),
      peer_s: m(`${mode}:${op}:perport:${PER_PORT_N}`),
    });
  }
}

// ---- what lowers the switch's own cost of deleting ports (applied times, one run each) ----
const experiments = [];
async function experiment(label, setup, remove, teardown = async () => {}) {
  await setup();
  await v.sync();
  const t0 = performance.now();
  await remove();
  await v.sync();
  const s = seconds(t0);
  await teardown();
  experiments.push({ experiment: label, applied_s: s });
  console.log(`${label}: ${s.toFixed(2)} s`);
}
const big = names(N, "x");
await experiment(
  `internal ports, one transaction`,
  () => v.addPorts(BR, specs(big)),
  () => v.deletePorts(big),
);
await experiment(
  `internal ports, reverse order in 10 transactions of ${N / 10}`,
  () => v.addPorts(BR, specs(big)),
  async () => {
    const rev = [...big].reverse();
    for (let i = 0; i < rev.length; i += N / 10) await v.deletePorts(rev.slice(i, i + N / 10));
  },
);
await experiment(
  `internal ports, in creation order, 10 transactions of ${N / 10}`,
  () => v.addPorts(BR, specs(big)),
  async () => {
    for (let i = 0; i < big.length; i += N / 10) await v.deletePorts(big.slice(i, i + N / 10));
  },
);
await experiment(
  `internal ports, whole bridge deleted`,
  async () => {
    await v.addBridge({ name: "bench1" });
    await v.addPorts("bench1", specs(big));
  },
  () => v.deleteBridge("bench1"),
);
// Devices made first by the caller (persistent taps, minimega's model) and added as system ports:
// removing them from OVS does not close a device; the devices are then deleted separately.
const batch = (lines) => execa("ip", ["-batch", "-"], { input: `${lines.join("\n")}\n` });
await experiment(
  `system ports on ${N} pre-made taps: removed from OVS (devices stay)`,
  async () => {
    await batch(big.map((n) => `tuntap add mode tap name ${n}`));
    await v.addPorts(
      BR,
      big.map((name, i) => ({ name, tag: (i % 100) + 1 })),
    );
  },
  () => v.deletePorts(big),
);
{
  const t0 = performance.now();
  await batch(big.map((n) => `link del ${n}`));
  const s = seconds(t0);
  experiments.push({
    experiment: `then the ${N} taps deleted by ip -batch (one request each)`,
    applied_s: s,
  });
  console.log(`taps deleted: ${s.toFixed(2)} s`);
}

await sandbox.stop();
const after = loadavg();
for (const row of rows) {
  row.ratio = Number((row.peer_s / row.subject_s).toFixed(2));
  console.log(
    `${row.workload} | vmnet ${row.subject_s.toFixed(3)} s | ${row.peer} ${row.peer_s.toFixed(3)} s | ${row.ratio}x${row.vswitchd_catch_up_after_vmnet_nowait_s !== undefined ? ` | ovs-vswitchd catch-up after vmnet's no-wait commit ${row.vswitchd_catch_up_after_vmnet_nowait_s.toFixed(3)} s` : ""}`,
  );
}
// BENCH_RESULTS_DIR lets a quick small-N check of the harness write elsewhere than the results.
const resultsDir = process.env.BENCH_RESULTS_DIR
  ? `${process.env.BENCH_RESULTS_DIR}/`
  : new URL("./results/", import.meta.url);
await mkdir(resultsDir, { recursive: true });
await writeFile(
  new URL("ports.json", resultsDir instanceof URL ? resultsDir : `file://${resultsDir}`),
  `${JSON.stringify(rows, null, 2)}\n`,
);
await writeFile(
  new URL("ports-context.json", resultsDir instanceof URL ? resultsDir : `file://${resultsDir}`),
  `${JSON.stringify({ runs: RUNS, ports: N, perPortPorts: PER_PORT_N, loadBefore: load, loadAfter: after, samples, deletionExperiments: experiments }, null, 2)}\n`,
);
