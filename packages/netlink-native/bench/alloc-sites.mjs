// Where a 1000-link storm allocates: V8's sampling heap profiler over one storm (after a warm-up
// storm), summed per function (self), largest first. The tool behind the allocation numbers in
// bench/results/loop-trace-notes.txt.
//   vmnet-isolate node bench/alloc-sites.mjs        (BENCH_N=1000, BENCH_KIND=veth|tap, TOP=30)
// Needs the built package (dist/) and CAP_NET_ADMIN (vmnet-isolate gives it). A diagnostic: run it
// under `flock /tmp/vmnet-bench.lock` like the bench.
import { Session } from "node:inspector/promises";
import { createNetns, deleteNetns } from "../dist/index.js";
import { storm } from "./storm.mjs";

const N = Number(process.env.BENCH_N ?? 1000);
const KIND = process.env.BENCH_KIND ?? "veth";
const TOP = Number(process.env.TOP ?? 30);

async function once() {
  const ns = `alloc${process.pid}`;
  await createNetns(ns);
  try {
    await storm({ kind: KIND, ns, n: N });
  } finally {
    await deleteNetns(ns);
  }
}

await once(); // warm-up: compile, size the pools
const session = new Session();
session.connect();
// A sample every 1 KiB on average: fine enough for sites of a few hundred bytes per link.
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await once();
const { profile } = await session.post("HeapProfiler.stopSampling");
session.disconnect();

const bySite = new Map();
let total = 0;
(function walk(node, stack) {
  const f = node.callFrame;
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, "$1/");
  const name = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  if (node.selfSize > 0) {
    const parent = stack.at(-1) ?? "";
    const key = `${name}   <- ${parent}`;
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const c of node.children) walk(c, [...stack, name]);
})(profile.head, []);
const perLink = (b) => (b / N).toFixed(0);
console.log(
  `${KIND} x${N}: sampled ${perLink(total)} bytes per link in all (per 1000 links: ${((total * 1000) / N / 1048576).toFixed(2)} MiB)`,
);
for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`${perLink(v).padStart(6)} B/link  ${k}`);
