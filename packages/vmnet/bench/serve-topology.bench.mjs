// vmnet serve's topology read at many taps: wall and CPU ms per read, now (one OVSDB snapshot and
// one link dump through Bridges.overview) against the separate reads it used to make
// (Bridges.info() + Bridges.taps() + a link dump), alternated in the same run because the machine
// is shared. BENCH_TOPO_OLD_DIST=<dir> also times another build's readTopology (e.g. the commit
// before, built into a temp dir) against the same switch. BENCH_TOPO_TAPS (default 1000),
// BENCH_TOPO_RUNS (default 5). Writes bench/results/serve-topology.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns } from "@vmnet/netlink-native";
import { OvsSandbox } from "@vmnet/ovs";
import { Bridges } from "../dist/index.js";
import { readTopology } from "../dist/serve/topology.js";

const here = dirname(fileURLToPath(import.meta.url));
const TAPS = Number(process.env.BENCH_TOPO_TAPS ?? 1000);
const RUNS = Number(process.env.BENCH_TOPO_RUNS ?? 5);
const OLD = process.env.BENCH_TOPO_OLD_DIST;

async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ns = `bench-topo-${process.pid}`;
await createNetns(ns);
const ovs = await OvsSandbox.start({ netns: ns });
const open = (B) => B.open({ db: ovs.remote, netns: ns, datapathType: "netdev", owner: "bench" });
try {
  const bridges = await open(Bridges);
  const bridge = await bridges.get("topo");
  await bridge.createTaps(Array.from({ length: TAPS }, (_, i) => ({ name: `t${i}`, vlan: 10 + (i % 10) })));
  const ways = {
    separate: () => Promise.all([bridges.info(), bridges.taps(), bridges.ctx.rtnl.links.list()]),
    overview: () => readTopology(bridges, undefined),
  };
  let old;
  if (OLD) {
    const mod = await import(join(OLD, "index.js"));
    const topo = await import(join(OLD, "serve/topology.js"));
    old = await open(mod.Bridges);
    ways.oldReadTopology = () => topo.readTopology(old, undefined);
  }
  const samples = Object.fromEntries(Object.keys(ways).map((k) => [k, { wall: [], cpu: [] }]));
  for (const fn of Object.values(ways)) await fn(); // warm up
  for (let r = 0; r < RUNS; r++)
    for (const [k, fn] of Object.entries(ways)) {
      const t = await timed(fn);
      samples[k].wall.push(t.wall);
      samples[k].cpu.push(t.cpu);
    }
  const result = { taps: TAPS, runs: RUNS, loadavg: loadavg()[0], ms: {} };
  for (const [k, s] of Object.entries(samples)) {
    result.ms[k] = { wallMedian: Math.round(median(s.wall)), cpuMedian: Math.round(median(s.cpu)) };
    console.log(
      `${k.padEnd(16)} wall ${result.ms[k].wallMedian} ms  cpu ${result.ms[k].cpuMedian} ms (median of ${RUNS})`,
    );
  }
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(join(here, "results", "serve-topology.json"), `${JSON.stringify(result, null, 2)}\n`);
  await old?.close();
  await bridges.destroy();
} finally {
  await ovs.stop();
  deleteNetns(ns);
}
