// Garbage-collector cost and event-loop delay of vmnet's 1000-link runs (the workload of
// run.mjs's "create+address+up" and "delete" rows), small and repeatable: prints, per run, the
// number of young (scavenge) and old (mark-sweep) collections and their total pause (normalised
// per 1000 links), the heap growth, and the event-loop delay p99 during the run.
//   vmnet-isolate node bench/gc-storm.mjs            (BENCH_N=1000, BENCH_RUNS=3, BENCH_KIND=veth|tap|both)
// Needs the built package (dist/) and CAP_NET_ADMIN (vmnet-isolate gives it).
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns } from "../dist/index.js";
import { storm } from "./storm.mjs";

// The parent re-runs this file with V8's GC trace and sums, per run, what V8 says it allocated,
// copied within the young generation and promoted (bytes: these do not depend on the machine's
// load the way pause times do).
if (!process.env.GC_STORM_CHILD) {
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", "--trace-gc-nvp", fileURLToPath(import.meta.url)],
    { env: { ...process.env, GC_STORM_CHILD: "1" }, encoding: "utf8", maxBuffer: 256 << 20 },
  );
  if (child.status !== 0) {
    process.stderr.write(child.stderr);
    process.exit(child.status ?? 1);
  }
  let sums;
  for (const line of child.stdout.split("\n")) {
    if (line.startsWith("BEGIN ")) sums = { allocated: 0, survived: 0, promoted: 0, young: 0, youngPause: 0 };
    else if (line.startsWith("END ")) {
      const n = Number(line.split(" ")[1]);
      const mib = (x) => ((x * 1000) / n / 1048576).toFixed(2);
      console.log(
        `${line.slice(4 + String(n).length + 1)}\n    V8 per 1000 links: allocated ${mib(sums.allocated)} MiB, ` +
          `young-generation copies ${mib(sums.survived)} MiB, promoted ${mib(sums.promoted)} MiB; ` +
          `scavenges ${((sums.young * 1000) / n).toFixed(1)} (pause ${((sums.youngPause * 1000) / n).toFixed(1)} ms)`,
      );
      sums = undefined;
    } else if (sums && line.includes(" pause=")) {
      const field = (k) => Number(new RegExp(`\\b${k}=([0-9.]+)`).exec(line)?.[1] ?? 0);
      sums.allocated += field("allocated");
      sums.survived += field("new_space_survived");
      sums.promoted += field("promoted");
      if (/ gc=s /.test(line)) {
        sums.young++;
        sums.youngPause += field("pause");
      }
    } else if (!line.includes(" pause=") && line.trim()) console.log(line);
  }
  process.exit(0);
}

const N = Number(process.env.BENCH_N ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KINDS = (process.env.BENCH_KIND ?? "both") === "both" ? ["veth", "tap"] : [process.env.BENCH_KIND];

const gc = { young: 0, youngMs: 0, old: 0, oldMs: 0 };
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail?.kind ?? e.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.young++;
      gc.youngMs += e.duration;
    } else {
      gc.old++;
      gc.oldMs += e.duration;
    }
  }
});
observer.observe({ entryTypes: ["gc"] });

const per = (x) => (x * 1000) / N;
console.log(`load average at start: ${loadavg()[0].toFixed(2)}; N=${N}, ${RUNS} runs`);
for (const kind of KINDS) {
  for (let r = 0; r < RUNS; r++) {
    const ns = `gcstorm${process.pid}-${kind}-${r}`;
    await createNetns(ns);
    try {
      globalThis.gc?.();
      await new Promise((res) => setTimeout(res, 50));
      Object.assign(gc, { young: 0, youngMs: 0, old: 0, oldMs: 0 });
      const loop = monitorEventLoopDelay({ resolution: 1 });
      const heap0 = process.memoryUsage().heapUsed;
      console.log(`BEGIN ${kind} ${r}`);
      loop.enable();
      const t0 = performance.now();
      await storm({ kind, ns, n: N });
      const ms = performance.now() - t0;
      loop.disable();
      await new Promise((res) => setImmediate(res)); // let the observer see the last entries
      globalThis.gc?.(); // counts what the run allocated since the last collection
      console.log(
        `END ${N} ${kind} x${N} run ${r + 1}: ${ms.toFixed(0)} ms; per 1000 links: young GCs ${per(gc.young).toFixed(0)} ` +
          `(${per(gc.youngMs).toFixed(1)} ms), old GCs ${per(gc.old).toFixed(0)} (${per(gc.oldMs).toFixed(1)} ms), ` +
          `heap delta ${((process.memoryUsage().heapUsed - heap0) / 1048576).toFixed(1)} MiB; ` +
          `event-loop p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`,
      );
    } finally {
      await deleteNetns(ns);
    }
  }
}
observer.disconnect();
