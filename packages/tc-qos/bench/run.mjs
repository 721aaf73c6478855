// pnpm bench: apply, then change, then remove a rate limit on N links (default 1000), with vmnet
// (applyQos/removeQos over one netlink socket, requests issued together), iproute2's `tc -batch`
// (one process per phase) and `tc` spawned once per operation, in the same run, each in a fresh
// private netns of N veth pairs. Writes bench/results/qos.json: rows
// { workload, subject: "vmnet", peer, subject_s, peer_s } (median of RUNS runs; tc per process
// runs once). Runs inside vmnet-isolate (private namespaces).
// Every timed phase, of every side, starts on a settled kernel (see settle()): the links' IPv6
// is off (no address configuration work for 2000 new links), and the phase waits until requests
// that take the RTNL lock answer quickly again (the last netns's teardown, carrier events and
// other sessions' bursts done), so a row measures its own work and not what the previous one
// left running. The subjects' order rotates every round, so none always follows the same one.
// Quick check: BENCH_N=200 BENCH_RUNS=3 BENCH_PER_PROCESS=0 BENCH_RESULTS_DIR=/tmp/qos pnpm bench
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns, Rtnl } from "@vmnet/netlink-native";
import { applyQos, applyQosMany, removeQos, Tc } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_N ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PER_PROCESS = process.env.BENCH_PER_PROCESS !== "0";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;
let nsCounter = 0;

// The same QoS in both tools' words: applyQos's defaults for these rates are a 16 KiB / 25000 B
// bucket (10 ms of the rate, at least 16 KiB) and 50 ms of queue.
const APPLY = { rate: "10mbit" };
const CHANGE = { rate: "20mbit" };
const tcApply = (dev) => `qdisc add dev ${dev} root handle 1: tbf rate 10mbit burst 16384 latency 50ms`;
const tcChange = (dev) => `qdisc change dev ${dev} root handle 1: tbf rate 20mbit burst 25000 latency 50ms`;
const tcRemove = (dev) => `qdisc del dev ${dev} root`;

/** Turns IPv6 off in a netns before its links exist (setup, not timed). */
function noIpv6(ns) {
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "sysctl",
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`disabling IPv6 in ${ns}: ${r.stderr}`);
}

/** Settle waits: how many, and how long they took in all (printed at the end). */
const settled = { count: 0, waitedMs: 0, timedOut: 0 };
const QUIET_MS = 1;
const QUIET_IN_A_ROW = 5;
const SETTLE_MAX_MS = 5000;

/**
 * Waits until the kernel is settled: a qdisc get (a tc request, served under the RTNL lock
 * that every qdisc change of both tools takes) answers within QUIET_MS five times in a row. Gives up after SETTLE_MAX_MS (counted, and printed) so a machine that never quiets still
 * finishes. Runs before every timed phase of every side.
 */
async function settle(ns) {
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  const tc = await Tc.open({ netns: ns });
  try {
    let quiet = 0;
    while (quiet < QUIET_IN_A_ROW) {
      if (performance.now() - t0 > SETTLE_MAX_MS) {
        settled.timedOut++;
        break;
      }
      const p0 = performance.now();
      await tc.qdiscs.get(1); // lo (ifindex 1 in every netns): no name lookup in the probe
      quiet = performance.now() - p0 <= QUIET_MS ? quiet + 1 : 0;
      if (quiet === 0) await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    tc.close();
  }
  settled.count++;
  settled.waitedMs += performance.now() - t0;
}

async function withLinks(fn) {
  const ns = `qosbench${process.pid}-${nsCounter++}`;
  await createNetns(ns);
  noIpv6(ns);
  const rtnl = await Rtnl.open({ netns: ns });
  try {
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        rtnl.links.add({ kind: "veth", name: `v${i}`, peer: { name: `p${i}` }, up: true }),
      ),
    );
    const names = Array.from({ length: N }, (_, i) => `v${i}`);
    return await fn(ns, names);
  } finally {
    rtnl.close();
    deleteNetns(ns);
  }
}

/** How many of the links have a tbf at the root with this rate (bytes/s): checks each phase worked. */
async function countTbf(ns, rate) {
  const tc = await Tc.open({ netns: ns });
  try {
    const qdiscs = await tc.qdiscs.list();
    return qdiscs.filter((q) => q.kind === "tbf" && q.parent === "root" && q.options?.rate === rate).length;
  } finally {
    tc.close();
  }
}

async function check(ns, phase, rate) {
  const n = await countTbf(ns, rate);
  const want = phase === "remove" ? 0 : N;
  if (n !== want) throw new Error(`${phase}: ${n} links have the tbf, expected ${want}`);
}

/** The Tc handle used the way tc is: qdisc add, change, delete (no reads, no rollback). */
async function vmnetTc(ns, names) {
  const t = {};
  await settle(ns);
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  const tbf = (rate, burst) => ({ kind: "tbf", handle: "1:", rate, burst, latency: "50ms" });
  try {
    await Promise.all(names.map((dev) => tc.qdiscs.add(dev, tbf("10mbit", 16384))));
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    await settle(ns);
    t0 = now();
    await Promise.all(names.map((dev) => tc.qdiscs.change(dev, tbf("20mbit", 25000))));
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
    await settle(ns);
    t0 = now();
    await Promise.all(names.map((dev) => tc.qdiscs.delete(dev)));
    t.remove = now() - t0;
    await check(ns, "remove", 0);
  } finally {
    tc.close();
  }
  return t;
}

/** The QoS API: applyQos reads each link's state, plans, and can roll back; removeQos likewise. */
async function vmnet(ns, names) {
  const t = {};
  await settle(ns);
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  try {
    await Promise.all(names.map((dev) => applyQos(dev, APPLY, { tc })));
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    await settle(ns);
    t0 = now();
    await Promise.all(names.map((dev) => applyQos(dev, CHANGE, { tc })));
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
    await settle(ns);
    t0 = now();
    await Promise.all(names.map((dev) => removeQos(dev, { tc })));
    t.remove = now() - t0;
    await check(ns, "remove", 0);
  } finally {
    tc.close();
  }
  return t;
}

/** The batch form: applyQosMany reads every link in one dump and sends all changes together. */
async function vmnetMany(ns, names) {
  const t = {};
  await settle(ns);
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  try {
    await applyQosMany(
      names.map((link) => ({ link, qos: APPLY })),
      { tc },
    );
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    await settle(ns);
    t0 = now();
    await applyQosMany(
      names.map((link) => ({ link, qos: CHANGE })),
      { tc },
    );
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
    await settle(ns);
    t0 = now();
    await applyQosMany(
      names.map((link) => ({ link, qos: null })),
      { tc },
    );
    t.remove = now() - t0;
    await check(ns, "remove", 0);
  } finally {
    tc.close();
  }
  return t;
}

function batchFile(lines) {
  const f = join(mkdtempSync(join(tmpdir(), "qos-batch-")), "batch");
  writeFileSync(f, `${lines.join("\n")}\n`);
  return f;
}

function runTc(args) {
  const r = spawnSync("tc", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tc ${args.join(" ")}: ${r.stderr}`);
}

async function tcBatch(ns, names) {
  const t = {};
  const files = {
    apply: batchFile(names.map(tcApply)),
    change: batchFile(names.map(tcChange)),
    remove: batchFile(names.map(tcRemove)),
  };
  for (const [phase, rate] of [
    ["apply", 1_250_000],
    ["change", 2_500_000],
    ["remove", 0],
  ]) {
    await settle(ns);
    const t0 = now();
    runTc(["-n", ns, "-batch", files[phase]]);
    t[phase] = now() - t0;
    await check(ns, phase, rate);
  }
  return t;
}

async function tcPerProcess(ns, names) {
  const t = {};
  for (const [phase, line, rate] of [
    ["apply", tcApply, 1_250_000],
    ["change", tcChange, 2_500_000],
    ["remove", tcRemove, 0],
  ]) {
    await settle(ns);
    const t0 = now();
    for (const dev of names) runTc(["-n", ns, ...line(dev).split(" ")]);
    t[phase] = now() - t0;
    await check(ns, phase, rate);
  }
  return t;
}

async function measure(label, fn, runs) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const t = await withLinks(fn);
    t.total = t.apply + t.change + t.remove;
    samples.push(t);
    console.log(
      `${label} run ${r + 1}: ${Object.entries(t)
        .map(([k, v]) => `${k} ${v.toFixed(3)}s`)
        .join(", ")}`,
    );
  }
  const out = {};
  for (const k of ["apply", "change", "remove", "total"]) out[k] = median(samples.map((s) => s[k]));
  return out;
}

const load = spawnSync("uptime", { encoding: "utf8" }).stdout.trim();
console.log(`load before the benchmark: ${load}`);
console.log(`N=${N} links, ${RUNS} runs (tc per process: ${PER_PROCESS ? "1 run" : "skipped"})`);

// Interleave the subjects and tc -batch, so that all see the same machine, in an order that
// rotates every round.
const runs = { qos: [], many: [], tc: [], batch: [] };
const sides = [
  ["qos", "vmnet applyQos", vmnet],
  ["many", "vmnet applyQosMany", vmnetMany],
  ["tc", "vmnet Tc", vmnetTc],
  ["batch", "tc -batch", tcBatch],
];
for (let r = 0; r < RUNS; r++) {
  for (let i = 0; i < sides.length; i++) {
    const [key, label, fn] = sides[(i + r) % sides.length];
    runs[key].push(await measure(label, fn, 1));
  }
}
const pick = (xs) =>
  Object.fromEntries(["apply", "change", "remove", "total"].map((k) => [k, median(xs.map((x) => x[k]))]));
const subjects = {
  "applyQos/removeQos": pick(runs.qos),
  applyQosMany: pick(runs.many),
  "Tc qdiscs.add/change/delete": pick(runs.tc),
};
const peers = { "tc -batch": pick(runs.batch) };
if (PER_PROCESS) peers["tc per process"] = await measure("tc per process", tcPerProcess, 1);

const rows = [];
const names = { total: "apply + change + remove", apply: "apply", change: "change", remove: "remove" };
for (const [how, result] of Object.entries(subjects)) {
  for (const k of ["total", "apply", "change", "remove"]) {
    for (const [peer, p] of Object.entries(peers)) {
      rows.push({
        workload: `${N} links, a rate limit: ${names[k]} (vmnet ${how})`,
        subject: "vmnet",
        peer,
        subject_s: result[k],
        peer_s: p[k],
      });
    }
  }
}
for (const r of rows) {
  console.log(
    `${r.workload.padEnd(70)} vmnet ${r.subject_s.toFixed(3)}s  ${r.peer.padEnd(15)} ${r.peer_s.toFixed(3)}s  ratio ${(r.peer_s / r.subject_s).toFixed(2)}x`,
  );
}
// BENCH_RESULTS_DIR: where a quick small-N check writes, so it never replaces the real results.
const settleNote = `settle waits before timed phases: ${settled.count}, ${(settled.waitedMs / Math.max(1, settled.count)).toFixed(0)} ms each on average, ${settled.timedOut} gave up after ${SETTLE_MAX_MS} ms`;
console.log(settleNote);
const loadAfter = spawnSync("uptime", { encoding: "utf8" }).stdout.trim();
console.log(`load after the benchmark: ${loadAfter}`);
const out = process.env.BENCH_RESULTS_DIR ?? join(here, "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "qos.json"), `${JSON.stringify(rows, null, 2)}\n`);
writeFileSync(
  join(out, "qos-notes.txt"),
  `${new Date().toISOString()} N=${N} RUNS=${RUNS} (median of RUNS; tc per process ran once)\nload before: ${load}\nload after: ${loadAfter}\n${settleNote}\n${rows
    .map(
      (r) =>
        `${r.workload} vs ${r.peer}: vmnet ${r.subject_s.toFixed(4)} s, ${r.peer} ${r.peer_s.toFixed(4)} s (${(r.peer_s / r.subject_s).toFixed(2)}x)`,
    )
    .join("\n")}\n`,
);
console.log(`wrote ${join(out, "qos.json")}`);
