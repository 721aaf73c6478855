// pnpm bench: vmnet's rtnetlink client against iproute2 `ip -batch` (C), vishvananda/netlink (Go)
// and `ip` spawned once per operation, on the same workloads in the same run, each in a fresh
// private netns. Writes bench/results/rtnl.json: rows { workload, subject, peer, subject_s, peer_s }
// (median of RUNS runs; the slow per-process and one-by-one peers run once).
// Quick check: BENCH_N=50 BENCH_CHANGES=400 BENCH_RUNS=1 BENCH_RESULTS_DIR=/tmp/b pnpm bench
// Runs inside vmnet-isolate (private namespaces, no network). Its peers (iproute2, golang-go,
// golang-github-vishvananda-netlink-dev) are installed BEFORE entering the sandbox by
// bench/install-peers.mjs (`pnpm bench` runs both); here they are only checked.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { createNetns, deleteNetns, LoopDelayMonitor, Rtnl } from "../dist/index.js";
import { ipBatchLines, ipv4, storm } from "./storm.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_N ?? 1000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const rows = [];
const notes = [];
let nsCounter = 0;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;

function ensureGoPeer() {
  const need = ["golang-go", "golang-github-vishvananda-netlink-dev"].filter(
    (p) =>
      spawnSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" }).stdout.indexOf(
        "ok installed",
      ) < 0,
  );
  if (need.length) {
    // The sandbox has no network: installing here cannot work on a fresh machine.
    throw new Error(
      `missing ${need.join(" ")}: run \`node bench/install-peers.mjs\` first (pnpm bench does)`,
    );
  }
  const out = join(mkdtempSync(join(tmpdir(), "vmnet-go-")), "vmnetbench");
  execFileSync("go", ["build", "-o", out, "vmnetbench"], {
    cwd: join(here, "peer-go", "src", "vmnetbench"),
    env: {
      ...process.env,
      GOPATH: `${join(here, "peer-go")}:/usr/share/gocode`,
      GO111MODULE: "off",
      GOCACHE: join(tmpdir(), "vmnet-gocache"),
      GOFLAGS: "-mod=mod",
    },
    stdio: "inherit",
  });
  return out;
}

async function inFreshNetns(fn) {
  const name = `bench${process.pid}-${nsCounter++}`;
  await createNetns(name);
  try {
    return await fn(name);
  } finally {
    await deleteNetns(name);
  }
}

// What else ran during a vmnet run, for the notes (see bench/loop-trace.mjs for the full split):
// V8's GC pauses, the CPU V8's own threads used (its optimizing compiler, GC helpers: our threads
// other than the loop that ran mostly in user space; libuv's pool threads run mostly in the kernel,
// doing its work), and what the rest of the machine used (/proc/stat is not limited by the
// sandbox's pid namespace). Read before and after the run only: nothing is sampled during it.
const gcPauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcPauses.push({
      minor: (e.detail?.kind ?? e.kind) === constants.NODE_PERFORMANCE_GC_MINOR,
      ms: e.duration,
    });
}).observe({ entryTypes: ["gc"] });
function cpuTicks() {
  const threads = new Map();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      threads.set(t, { user: Number(f[11]), system: Number(f[12]) });
    } catch {
      // the thread ended meanwhile
    }
  }
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { threads, machine: f.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0) };
}
/** Starts counting; the returned function gives the counts since. */
function otherWork() {
  const before = cpuTicks();
  gcPauses.length = 0;
  return () => {
    const after = cpuTicks();
    let ours = 0;
    let v8 = 0;
    for (const [t, v] of after.threads) {
      const b = before.threads.get(t) ?? { user: 0, system: 0 };
      const user = (v.user - b.user) * 10;
      const system = (v.system - b.system) * 10;
      ours += user + system;
      if (t !== String(process.pid) && user >= system) v8 += user + system;
    }
    const minor = gcPauses.filter((g) => g.minor);
    return {
      scavenges: minor.length,
      scavengeMs: minor.reduce((sum, g) => sum + g.ms, 0),
      majors: gcPauses.length - minor.length,
      v8ThreadsMs: v8,
      restOfMachineMs: Math.max(0, (after.machine - before.machine) * 10 - ours),
    };
  };
}

// ---- workload (a)/(b): create + address + up, then delete ----

async function vmnetLinks(kind, ns, stopMonitors) {
  const t = {};
  await storm({
    kind,
    ns,
    n: N,
    onPhase: (phase) => {
      if (phase === "create") t.start = now();
      if (phase === "delete") t.deleting = now();
      if (phase === "done") {
        t.done = now();
        stopMonitors?.();
      }
    },
    check: async (rtnl) => {
      const left = (await rtnl.links.list()).length;
      if (left !== 1) throw new Error(`vmnet left ${left - 1} links`);
    },
  });
  return { create: t.deleting - t.start, delete: t.done - t.deleting };
}

function batchFile(lines) {
  const f = join(mkdtempSync(join(tmpdir(), "vmnet-batch-")), "batch");
  writeFileSync(f, `${lines.join("\n")}\n`);
  return f;
}

async function ipBatchLinks(kind, ns) {
  const { create, del } = ipBatchLines(kind, N);
  const fc = batchFile(create);
  const fd = batchFile(del);
  const t0 = now();
  await execa("ip", ["-n", ns, "-batch", fc]);
  const t1 = now();
  await execa("ip", ["-n", ns, "-batch", fd]);
  const t2 = now();
  return { create: t1 - t0, delete: t2 - t1 };
}

async function ipPerProcessLinks(kind, ns) {
  const t0 = now();
  for (let i = 0; i < N; i++) {
    const name = kind === "veth" ? `v${i}` : `t${i}`;
    if (kind === "veth")
      await execa("ip", ["-n", ns, "link", "add", name, "type", "veth", "peer", "name", `p${i}`]);
    else await execa("ip", ["-n", ns, "tuntap", "add", "dev", name, "mode", "tap"]);
    await execa("ip", ["-n", ns, "addr", "add", ipv4(i), "dev", name]);
    await execa("ip", ["-n", ns, "link", "set", name, "up"]);
  }
  const t1 = now();
  for (let i = 0; i < N; i++)
    await execa("ip", ["-n", ns, "link", "del", kind === "veth" ? `v${i}` : `t${i}`]);
  const t2 = now();
  return { create: t1 - t0, delete: t2 - t1 };
}

async function vmnetOneByOneDelete(kind, ns) {
  const rtnl = await Rtnl.open({ netns: ns });
  try {
    const links = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        rtnl.links.add({ kind: "veth", name: `v${i}`, peer: { name: `p${i}` } }),
      ),
    );
    const t0 = now();
    for (const l of links) await rtnl.links.delete(l.index);
    return now() - t0;
  } finally {
    rtnl.close();
  }
}

async function goPeer(bin, ns, args) {
  const { stdout } = await execa("ip", ["netns", "exec", ns, bin, ...args]);
  return JSON.parse(stdout);
}

// ---- workload (c): 10,000 address and route changes on 100 existing links ----

async function prepareChangeLinks(ns) {
  const rtnl = await Rtnl.open({ netns: ns });
  try {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        rtnl.links.add({ kind: "veth", name: `c${i}`, peer: { name: `d${i}` }, up: true }),
      ),
    );
  } finally {
    rtnl.close();
  }
}

const route = (i) => `172.${16 + (i >> 8)}.${i & 255}.0/24`;

async function vmnetChanges(ns) {
  const rtnl = await Rtnl.open({ netns: ns });
  try {
    const idx = (await rtnl.links.list())
      .filter((l) => /^c\d+$/.test(l.name))
      .sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)))
      .map((l) => l.index);
    const q = CHANGES / 4;
    const t0 = now();
    await Promise.all(Array.from({ length: q }, (_, i) => rtnl.addresses.add(idx[i % 100], ipv4(i))));
    await Promise.all(
      Array.from({ length: q }, (_, i) => rtnl.routes.add({ dst: route(i), dev: idx[i % 100] })),
    );
    await Promise.all(
      Array.from({ length: q }, (_, i) => rtnl.routes.delete({ dst: route(i), dev: idx[i % 100] })),
    );
    await Promise.all(Array.from({ length: q }, (_, i) => rtnl.addresses.delete(idx[i % 100], ipv4(i))));
    return now() - t0;
  } finally {
    rtnl.close();
  }
}

function changeLines() {
  const q = CHANGES / 4;
  const lines = [];
  for (let i = 0; i < q; i++) lines.push(`addr add ${ipv4(i)} dev c${i % 100}`);
  for (let i = 0; i < q; i++) lines.push(`route add ${route(i)} dev c${i % 100}`);
  for (let i = 0; i < q; i++) lines.push(`route del ${route(i)} dev c${i % 100}`);
  for (let i = 0; i < q; i++) lines.push(`addr del ${ipv4(i)} dev c${i % 100}`);
  return lines;
}

async function ipBatchChanges(ns) {
  const f = batchFile(changeLines());
  const t0 = now();
  await execa("ip", ["-n", ns, "-batch", f]);
  return now() - t0;
}

async function ipPerProcessChanges(ns) {
  const t0 = now();
  for (const line of changeLines()) await execa("ip", ["-n", ns, ...line.split(" ")]);
  return now() - t0;
}

// ---- run ----

async function main() {
  const load = (await import("node:os")).loadavg()[0];
  notes.push(
    `load average before the run: ${load.toFixed(2)} on ${(await import("node:os")).cpus().length} cores`,
  );
  const go = ensureGoPeer();
  for (const kind of ["veth", "tap"]) {
    const v = { create: [], delete: [] };
    const b = { create: [], delete: [] };
    const g = { create: [], delete: [] };
    const delays = [];
    const splits = [];
    const others = [];
    // A first vmnet run in this process compiles the code and grows V8's young generation; its
    // event-loop figures are noted apart and its times are not counted (the peers are native).
    const first = { loop: monitorEventLoopDelay({ resolution: 1 }), split: new LoopDelayMonitor().start() };
    first.loop.enable();
    let firstSplit;
    await inFreshNetns((ns) =>
      vmnetLinks(kind, ns, () => {
        first.loop.disable();
        firstSplit = first.split.stop();
      }),
    );
    notes.push(
      `${kind} x${N}: first vmnet run of the process (not counted): event-loop p99 ` +
        `${(first.loop.percentile(99) / 1e6).toFixed(2)} ms, own work p99 ${firstSplit.selfP99.toFixed(2)} ms`,
    );
    for (let r = 0; r < RUNS; r++) {
      const loop = monitorEventLoopDelay({ resolution: 1 });
      // The same span's ticks split into the loop's own work and time spent waiting for a core.
      const split = new LoopDelayMonitor().start();
      const stopOther = otherWork();
      loop.enable();
      const stopMonitors = () => {
        loop.disable();
        splits.push(split.stop());
        others.push(stopOther());
      };
      const rv = await inFreshNetns((ns) => vmnetLinks(kind, ns, stopMonitors));
      delays.push(loop.percentile(99) / 1e6);
      v.create.push(rv.create);
      v.delete.push(rv.delete);
      const rb = await inFreshNetns((ns) => ipBatchLinks(kind, ns));
      b.create.push(rb.create);
      b.delete.push(rb.delete);
      const rg = await inFreshNetns((ns) => goPeer(go, ns, [kind, String(N)]));
      g.create.push(rg.create_s);
      g.delete.push(rg.delete_s);
    }
    const pp = await inFreshNetns((ns) => ipPerProcessLinks(kind, ns));
    const w = `${kind} x${N}`;
    // The machine's own share: this process idle (only the monitors' timers) for as long as one
    // vmnet run, measured the same way. A VM's timers can fire late while the host runs others.
    const idleMs = median(v.create.map((c, i) => c + v.delete[i])) * 1000;
    const idle = { loop: monitorEventLoopDelay({ resolution: 1 }), split: new LoopDelayMonitor().start() };
    idle.loop.enable();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    idle.loop.disable();
    const idleSplit = idle.split.stop();
    notes.push(
      `${w}: the same process idle for ${(idleMs / 1000).toFixed(2)} s after the runs: event-loop p99 ` +
        `${(idle.loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(idle.loop.max / 1e6).toFixed(2)} ms; ` +
        `own work p99 ${idleSplit.selfP99.toFixed(2)} ms`,
    );
    // vmnet and ip -batch delete by link group (one request); the Go peer and ip per process
    // delete one link per request. The workload names say so.
    const byGroup = "(both by group)";
    const groupVsOne = "(vmnet by group, peer one request per link)";
    rows.push({
      workload: `${w} create+address+up`,
      subject: "vmnet",
      peer: "ip -batch",
      subject_s: median(v.create),
      peer_s: median(b.create),
    });
    rows.push({
      workload: `${w} create+address+up`,
      subject: "vmnet",
      peer: "vishvananda/netlink",
      subject_s: median(v.create),
      peer_s: median(g.create),
    });
    rows.push({
      workload: `${w} create+address+up`,
      subject: "vmnet",
      peer: "ip per process",
      subject_s: median(v.create),
      peer_s: pp.create,
    });
    rows.push({
      workload: `${w} delete ${byGroup}`,
      subject: "vmnet",
      peer: "ip -batch",
      subject_s: median(v.delete),
      peer_s: median(b.delete),
    });
    rows.push({
      workload: `${w} delete ${groupVsOne}`,
      subject: "vmnet",
      peer: "vishvananda/netlink",
      subject_s: median(v.delete),
      peer_s: median(g.delete),
    });
    rows.push({
      workload: `${w} delete ${groupVsOne}`,
      subject: "vmnet",
      peer: "ip per process",
      subject_s: median(v.delete),
      peer_s: pp.delete,
    });
    rows.push({
      workload: `${w} all (create+address+up+delete) ${byGroup}`,
      subject: "vmnet",
      peer: "ip -batch",
      subject_s: median(v.create.map((c, i) => c + v.delete[i])),
      peer_s: median(b.create.map((c, i) => c + b.delete[i])),
    });
    rows.push({
      workload: `${w} all (create+address+up+delete) ${groupVsOne}`,
      subject: "vmnet",
      peer: "vishvananda/netlink",
      subject_s: median(v.create.map((c, i) => c + v.delete[i])),
      peer_s: median(g.create.map((c, i) => c + g.delete[i])),
    });
    rows.push({
      workload: `${w} all (create+address+up+delete) ${groupVsOne}`,
      subject: "vmnet",
      peer: "ip per process",
      subject_s: median(v.create.map((c, i) => c + v.delete[i])),
      peer_s: pp.create + pp.delete,
    });
    notes.push(
      `${w}: event-loop delay p99 during vmnet's runs: ${delays.map((d) => d.toFixed(2)).join(", ")} ms`,
    );
    notes.push(
      `${w}: of that, the loop's own work (gap minus time waiting for a core) p99: ` +
        `${splits.map((d) => d.selfP99.toFixed(2)).join(", ")} ms; waited for a core: ` +
        `${splits.map((d) => d.runQueueWaitMs.toFixed(0)).join(", ")} ms per run`,
    );
    notes.push(
      `${w}: meanwhile, per run: scavenges ${others.map((o) => `${o.scavenges} (${o.scavengeMs.toFixed(0)} ms)`).join(", ")}; ` +
        `major GCs ${others.map((o) => o.majors).join(", ")}; CPU of V8's own threads (compiler, GC helpers) ` +
        `${others.map((o) => o.v8ThreadsMs).join(", ")} ms; the rest of the machine ${others.map((o) => o.restOfMachineMs).join(", ")} ms`,
    );
    if (kind === "veth") {
      const one = await inFreshNetns((ns) => vmnetOneByOneDelete(kind, ns));
      rows.push({
        workload: `${w} delete ${groupVsOne}`,
        subject: "vmnet",
        peer: "one by one",
        subject_s: median(v.delete),
        peer_s: one,
      });
    }
  }
  const vc = [];
  const bc = [];
  const gc = [];
  for (let r = 0; r < RUNS; r++) {
    vc.push(await inFreshNetns(async (ns) => (await prepareChangeLinks(ns), vmnetChanges(ns))));
    bc.push(await inFreshNetns(async (ns) => (await prepareChangeLinks(ns), ipBatchChanges(ns))));
    gc.push(
      await inFreshNetns(
        async (ns) => (
          await prepareChangeLinks(ns), (await goPeer(go, ns, ["changes", String(CHANGES)])).changes_s
        ),
      ),
    );
  }
  const pc = await inFreshNetns(async (ns) => (await prepareChangeLinks(ns), ipPerProcessChanges(ns)));
  const wc = `${CHANGES} address+route changes`;
  rows.push({ workload: wc, subject: "vmnet", peer: "ip -batch", subject_s: median(vc), peer_s: median(bc) });
  rows.push({
    workload: wc,
    subject: "vmnet",
    peer: "vishvananda/netlink",
    subject_s: median(vc),
    peer_s: median(gc),
  });
  rows.push({ workload: wc, subject: "vmnet", peer: "ip per process", subject_s: median(vc), peer_s: pc });

  // BENCH_RESULTS_DIR: where a quick small-N check writes, so it never replaces the real results.
  const out = process.env.BENCH_RESULTS_DIR ?? join(here, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "rtnl.json"), `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(join(out, "rtnl-notes.txt"), `${notes.join("\n")}\n`);
  for (const r of rows)
    console.log(
      `${r.workload.padEnd(48)} vs ${r.peer.padEnd(20)} vmnet ${r.subject_s.toFixed(3)} s  peer ${r.peer_s.toFixed(3)} s  ratio ${(r.peer_s / r.subject_s).toFixed(1)}x`,
    );
  for (const n of notes) console.log(n);
}

await main();
