// pnpm bench: apply, then change, then remove a rate limit on N links (default 1000), with vmnet
// (applyQos/removeQos over one netlink socket, requests issued together), iproute2's `tc -batch`
// (one process per phase) and `tc` spawned once per operation, in the same run, each in a fresh
// private netns of N veth pairs. Writes bench/results/qos.json: rows
// { workload, subject: "vmnet", peer, subject_s, peer_s } (median of RUNS runs; tc per process
// runs once). Runs inside vmnet-isolate (private namespaces).
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

async function withLinks(fn) {
  const ns = `qosbench${process.pid}-${nsCounter++}`;
  await createNetns(ns);
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
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  const tbf = (rate, burst) => ({ kind: "tbf", handle: "1:", rate, burst, latency: "50ms" });
  try {
    await Promise.all(names.map((dev) => tc.qdiscs.add(dev, tbf("10mbit", 16384))));
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    t0 = now();
    await Promise.all(names.map((dev) => tc.qdiscs.change(dev, tbf("20mbit", 25000))));
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
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
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  try {
    await Promise.all(names.map((dev) => applyQos(dev, APPLY, { tc })));
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    t0 = now();
    await Promise.all(names.map((dev) => applyQos(dev, CHANGE, { tc })));
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
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
  let t0 = now();
  const tc = await Tc.open({ netns: ns });
  try {
    await applyQosMany(
      names.map((link) => ({ link, qos: APPLY })),
      { tc },
    );
    t.apply = now() - t0;
    await check(ns, "apply", 1_250_000);
    t0 = now();
    await applyQosMany(
      names.map((link) => ({ link, qos: CHANGE })),
      { tc },
    );
    t.change = now() - t0;
    await check(ns, "change", 2_500_000);
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

// Interleave the subjects and tc -batch, so that all see the same machine.
const runs = { qos: [], many: [], tc: [], batch: [] };
for (let r = 0; r < RUNS; r++) {
  runs.qos.push(await measure("vmnet applyQos", vmnet, 1));
  runs.many.push(await measure("vmnet applyQosMany", vmnetMany, 1));
  runs.tc.push(await measure("vmnet Tc", vmnetTc, 1));
  runs.batch.push(await measure("tc -batch", tcBatch, 1));
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
const loadAfter = spawnSync("uptime", { encoding: "utf8" }).stdout.trim();
console.log(`load after the benchmark: ${loadAfter}`);
const out = process.env.BENCH_RESULTS_DIR ?? join(here, "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "qos.json"), `${JSON.stringify(rows, null, 2)}\n`);
writeFileSync(
  join(out, "qos-notes.txt"),
  `${new Date().toISOString()} N=${N} RUNS=${RUNS} (median of RUNS; tc per process ran once)\nload before: ${load}\nload after: ${loadAfter}\n${rows
    .map(
      (r) =>
        `${r.workload} vs ${r.peer}: vmnet ${r.subject_s.toFixed(4)} s, ${r.peer} ${r.peer_s.toFixed(4)} s (${(r.peer_s / r.subject_s).toFixed(2)}x)`,
    )
    .join("\n")}\n`,
);
console.log(`wrote ${join(out, "qos.json")}`);
