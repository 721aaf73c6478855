// What the issue-16 figure (event-loop p99 during a 1000-link storm) is on this machine when the
// loop itself does nothing: a Node process that only runs the delay monitors, while a separate
// `ip -batch` process runs run.mjs's storm (create + address + up, then delete by group; veth or
// TAP) in a fresh netns. The monitored process spawns nothing (a spawn blocks its own loop), so
// its figures are the machine's: the cores the kernel work takes, and the host. Compare with
// run.mjs's figures for vmnet's own storm, where the loop does the work.
//   vmnet-isolate node bench/idle-beside-ip-batch.mjs
//   env: BENCH_N=1000 BENCH_RUNS=2 BENCH_KINDS=veth,tap
// Needs CAP_NET_ADMIN (vmnet-isolate gives it) and the built package (dist/). A diagnostic: run it
// under `flock /tmp/vmnet-bench.lock` like the bench; it prints one line per run.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns, LoopDelayMonitor } from "../dist/index.js";
import { ipBatchLines } from "./storm.mjs";

/** The monitored side: idle but for the monitors; "start" and "stop" on stdin, JSON on stdout. */
function monitor() {
  let loop;
  let split;
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line === "start") {
      loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      split = new LoopDelayMonitor().start();
      console.log("started");
    } else if (line === "stop") {
      loop.disable();
      const s = split.stop();
      console.log(
        JSON.stringify({
          p99: loop.percentile(99) / 1e6,
          max: loop.max / 1e6,
          ownP99: s.selfP99,
          waitedForCoreMs: s.runQueueWaitMs,
        }),
      );
      process.exit(0);
    }
  });
}

/** The storm's batch files for ip (see storm.mjs). */
function batchFiles(kind, n, dir) {
  const { create, del } = ipBatchLines(kind, n);
  const files = [join(dir, "create"), join(dir, "delete")];
  writeFileSync(files[0], `${create.join("\n")}\n`);
  writeFileSync(files[1], `${del.join("\n")}\n`);
  return files;
}

async function run(kind, n, dir) {
  const [create, del] = batchFiles(kind, n, dir);
  const ns = `idlebeside${process.pid}`;
  await createNetns(ns);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--monitor"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value;
  try {
    // Let the child settle before its window opens.
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.stdin.write("start\n");
    if ((await next()) !== "started") throw new Error("the monitor did not start");
    const t0 = performance.now();
    execFileSync("ip", ["-n", ns, "-batch", create]);
    execFileSync("ip", ["-n", ns, "-batch", del]);
    const seconds = (performance.now() - t0) / 1000;
    child.stdin.write("stop\n");
    return { seconds, ...JSON.parse(await next()) };
  } finally {
    child.kill();
    await deleteNetns(ns);
  }
}

async function main() {
  const n = Number(process.env.BENCH_N ?? 1000);
  const runs = Number(process.env.BENCH_RUNS ?? 2);
  const kinds = (process.env.BENCH_KINDS ?? "veth,tap").split(",");
  const dir = mkdtempSync(join(tmpdir(), "idle-beside-"));
  try {
    for (let r = 0; r < runs; r++) {
      for (const kind of kinds) {
        const m = await run(kind, n, dir);
        console.log(
          `${kind} x${n} by ip -batch (${m.seconds.toFixed(2)} s): an idle loop beside it: p99 ${m.p99.toFixed(2)} ms, ` +
            `max ${m.max.toFixed(2)} ms; own work p99 ${m.ownP99.toFixed(2)} ms; waited for a core ${m.waitedForCoreMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--monitor") monitor();
else await main();
