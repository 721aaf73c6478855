// Where the long event-loop turns of a 1000-link storm come from (issue 16). Runs run.mjs's
// workload (create + address + up, then delete by group; veth or TAP) in a fresh netns per run,
// after a warm-up storm, ticks every 1 ms, and splits every gap of at least LONG_MS into:
//  - the time the loop thread was ready but waited for a core (its schedstat run_delay),
//  - GC pauses V8 reported inside the gap,
//  - the rest (our JS, V8 compiling on the main thread, system calls).
// It also prints who used the CPU during each run: the loop thread, libuv's pool threads (seen
// at the pool-work nice value), V8's own threads (GC helpers and the optimizing compiler), and
// everything else the machine ran (other processes, kernel threads); and, per long gap, which of our threads were runnable.
//   vmnet-isolate node bench/loop-trace.mjs
//   env: BENCH_N=1000 BENCH_RUNS=2 BENCH_KIND=veth|tap LONG_MS=4 VERBOSE=1 (one line per long gap)
//        IDLE_MS=20000 (idle between storms)
// Needs the built package (dist/) and CAP_NET_ADMIN (vmnet-isolate gives it). A diagnostic, not a
// benchmark: it writes no results; run it under `flock /tmp/vmnet-bench.lock` like the bench.
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { createNetns, deleteNetns, native } from "../dist/index.js";
import { storm } from "./storm.mjs";

const N = Number(process.env.BENCH_N ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const KIND = process.env.BENCH_KIND ?? "veth";
const LONG_MS = Number(process.env.LONG_MS ?? 4);
const POOL_NICE = native().poolWorkNice();
const main = String(process.pid);

/** [state, nice, utime+stime ticks] of one thread, or undefined if it is gone. */
function threadStat(path) {
  try {
    const s = readFileSync(path, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return [f[0], Number(f[16]), Number(f[11]) + Number(f[12])];
  } catch {
    return undefined;
  }
}
const runWait = () => Number(readFileSync(`/proc/self/task/${main}/schedstat`, "utf8").split(" ")[1]);

/** Threads of ours seen at the pool-work nice value: libuv's pool threads. */
const poolTids = new Set();
/** Our other threads that are runnable now, as "pool" / "v8" (V8's workers, node's own). */
function othersRunnable() {
  let pool = 0;
  let v8 = 0;
  for (const t of readdirSync("/proc/self/task")) {
    if (t === main) continue;
    const st = threadStat(`/proc/self/task/${t}/stat`);
    if (!st) continue;
    if (POOL_NICE > 0 && st[1] === POOL_NICE) poolTids.add(t);
    if (st[0] === "R") poolTids.has(t) ? pool++ : v8++;
  }
  return { pool, v8 };
}

/** Busy CPU ticks of the whole machine (/proc/stat: not limited by the pid namespace). */
function machineBusy() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  return f.slice(0, 8).reduce((s, v, i) => (i === 3 || i === 4 ? s : s + v), 0);
}
/** CPU ticks (10 ms) of each of our threads, and of the machine. */
function cpuSnapshot() {
  const ours = new Map();
  for (const t of readdirSync("/proc/self/task"))
    ours.set(t, threadStat(`/proc/self/task/${t}/stat`)?.[2] ?? 0);
  return { ours, machine: machineBusy() };
}
function cpuUsed(before, after) {
  const ms = { loop: 0, pool: 0, v8: 0, rest: 0 };
  for (const [t, v] of after.ours) {
    const d = (v - (before.ours.get(t) ?? 0)) * 10;
    if (t === main) ms.loop += d;
    else if (poolTids.has(t)) ms.pool += d;
    else ms.v8 += d;
  }
  // Everything else the machine's cores did meanwhile: other processes, kernel threads, interrupts.
  ms.rest = Math.max(0, (after.machine - before.machine) * 10 - ms.loop - ms.pool - ms.v8);
  return ms;
}

const gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push({
      start: e.startTime,
      end: e.startTime + e.duration,
      minor: (e.detail?.kind ?? e.kind) === constants.NODE_PERFORMANCE_GC_MINOR,
    });
}).observe({ entryTypes: ["gc"] });

let phase = "create";
let phaseStart = 0;
const phaseMs = {};
function mark(next) {
  const now = performance.now();
  phaseMs[phase] = (phaseMs[phase] ?? 0) + now - phaseStart;
  phaseStart = now;
  phase = next;
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * q) / 100))] ?? 0;

async function traced(ns, label) {
  const cpu0 = cpuSnapshot();
  const ticks = [];
  let last = performance.now();
  let lastWait = runWait();
  phase = "create";
  phaseStart = last;
  for (const k of Object.keys(phaseMs)) delete phaseMs[k];
  gcs.length = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const w = runWait();
    ticks.push({ start: last, end: now, wait: (w - lastWait) / 1e6, phase, runnable: othersRunnable() });
    last = performance.now();
    lastWait = w;
  }, 1);
  const t0 = performance.now();
  await storm({ kind: KIND, ns, n: N, onPhase: mark });
  clearInterval(timer);
  const ms = performance.now() - t0;
  await new Promise((r) => setImmediate(r)); // the GC observer's last entries
  const cpu = cpuUsed(cpu0, cpuSnapshot());
  const gap = (t) => t.end - t.start;
  const wall = ticks.map(gap).sort((a, b) => a - b);
  const own = ticks.map((t) => Math.max(0, gap(t) - t.wait)).sort((a, b) => a - b);
  const long = ticks.filter((t) => gap(t) >= LONG_MS);
  const gcIn = (t) => gcs.filter((g) => g.end > t.start && g.start < t.end);
  let waited = 0;
  let inGc = 0;
  let poolRunnable = 0;
  let v8Runnable = 0;
  for (const t of long) {
    const w = Math.min(t.wait, gap(t));
    const g = gcIn(t).reduce((s, x) => s + Math.min(x.end, t.end) - Math.max(x.start, t.start), 0);
    waited += w;
    inGc += Math.min(g, gap(t) - w);
    if (t.runnable.pool > 0) poolRunnable++;
    if (t.runnable.v8 > 0) v8Runnable++;
  }
  const total = long.reduce((s, t) => s + gap(t), 0);
  const minor = gcs.filter((g) => g.minor);
  console.log(
    `${label}: ${ms.toFixed(0)} ms (${Object.entries(phaseMs)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(
        ", ",
      )}), ${ticks.length} ticks; wall p99 ${pct(wall, 99).toFixed(2)} ms, own work p99 ${pct(own, 99).toFixed(2)} ms`,
  );
  console.log(
    `  ${long.length} gaps >= ${LONG_MS} ms, ${total.toFixed(0)} ms in all: waited for a core ${waited.toFixed(0)} ms, ` +
      `GC ${inGc.toFixed(0)} ms, rest ${Math.max(0, total - waited - inGc).toFixed(0)} ms; ` +
      `a pool thread runnable at the end of ${poolRunnable}, a V8/node thread at ${v8Runnable}`,
  );
  console.log(
    `  GCs: ${minor.length} scavenges (${minor.reduce((s, g) => s + g.end - g.start, 0).toFixed(0)} ms), ` +
      `${gcs.length - minor.length} other; CPU used: loop ${cpu.loop} ms, pool ${cpu.pool} ms, ` +
      `V8/node threads ${cpu.v8} ms; the rest of the machine ${cpu.rest} ms`,
  );
  if (process.env.VERBOSE)
    for (const t of long)
      console.log(
        `    ${t.phase.padEnd(8)} gap ${gap(t).toFixed(2)} waited ${t.wait.toFixed(2)} GC ${gcIn(t)
          .map((g) => `${g.minor ? "scavenge" : "major"} ${(g.end - g.start).toFixed(2)}`)
          .join(",")} runnable: pool ${t.runnable.pool}, V8/node ${t.runnable.v8}`,
      );
}

console.log(
  `load ${loadavg()[0].toFixed(2)}; ${KIND} x${N}; libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads, pool work at nice +${POOL_NICE}`,
);
for (let r = 0; r <= RUNS; r++) {
  const ns = `trace${process.pid}-${r}`;
  await createNetns(ns);
  try {
    await traced(ns, r === 0 ? "warm-up (first storm of the process)" : `run ${r}`);
  } finally {
    await deleteNetns(ns);
  }
  // IDLE_MS: the process idles this long between storms (as run.mjs's peers make it), time for
  // V8 to shrink its young generation again.
  if (process.env.IDLE_MS && r < RUNS)
    await new Promise((res) => setTimeout(res, Number(process.env.IDLE_MS)));
}
console.log(`load ${loadavg()[0].toFixed(2)} at the end`);
