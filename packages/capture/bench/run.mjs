// pnpm bench: packet capture to a file by vmnet, `tcpdump -w` and `netsniff-ng --out`, in turn,
// on the same traffic in the same run. trafgen (netsniff-ng package) sends 64-byte frames (and
// full-size ones) from one end of a veth pair; the capture runs on the other end. The generator
// is pinned to CPU 0 and every capture tool to CPU 1 (the kernel's receive path, which copies
// into the ring, runs on the sender's CPU for veth; the tools' own work is on CPU 1).
//
// Measures: the highest rate each captures without loss (a ladder of trafgen rates), the loss at
// trafgen's highest rate, and CPU seconds (user+system of the capture process, all threads) per
// million packets captured. Writes bench/results/capture.json (rows { workload, subject, peer,
// subject_s, peer_s } with CPU seconds per million packets, medians of BENCH_RUNS runs) and
// bench/results/capture-rates.json (rates and loss).
// Runs inside vmnet-isolate (private namespaces). Installs netsniff-ng with apt-get if missing.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RATES = (process.env.BENCH_RATES ?? "100000,200000,300000,400000,500000,600000").split(",").map(Number);
const CPU_RATE = Number(process.env.BENCH_CPU_RATE ?? 200000);
const MAX_COUNT = Number(process.env.BENCH_MAX_COUNT ?? 3000000);
// CPU time is read in clock ticks (10 ms each here). One run of a fast tool uses only a few ticks,
// so CPU figures aggregate runs (CPU and packets summed) until the tool has used at least
// MIN_TICKS ticks: the figure is then far above the tick's resolution (1% at 100 ticks).
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 5);
const MIN_TICKS = Number(process.env.BENCH_MIN_TICKS ?? 100);
const MAX_CPU_RUNS = Number(process.env.BENCH_MAX_CPU_RUNS ?? 200);
const TOOLS = ["vmnet", "tcpdump", "netsniff-ng"];
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const NS = `capbench${process.pid}`;
const work = mkdtempSync(join(tmpdir(), "vmnet-capbench-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e9;

function ensureNetsniff() {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const have = spawnSync("dpkg-query", ["-W", "-f=${Status}", "netsniff-ng"], { encoding: "utf8" });
  if (have.stdout?.includes("ok installed")) return;
  console.log("installing netsniff-ng (trafgen and the netsniff-ng peer)");
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", "netsniff-ng"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

function sh(cmd, args) {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
}

function setup() {
  sh("ip", ["netns", "add", NS]);
  const x = (...a) => sh("ip", ["netns", "exec", NS, ...a]);
  x("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
  x("ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1");
  x("ip", "link", "set", "t0", "up");
  x("ip", "link", "set", "t1", "up");
  x("ip", "link", "set", "lo", "up");
}

function trafgenConf(size) {
  const f = join(work, `frames-${size}.cfg`);
  writeFileSync(
    f,
    `{ 0xff,0xff,0xff,0xff,0xff,0xff, 0x02,0x00,0x00,0x00,0x00,0x01, c16(0x88b5), fill(0x41, ${size - 14}) }\n`,
  );
  return f;
}

/** utime + stime of a process (all its threads), in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Records in a pcap file, by walking the record headers (no packet is copied). */
function countPcap(file) {
  const fd = openSync(file, "r");
  try {
    const hdr = Buffer.alloc(24);
    if (readSync(fd, hdr, 0, 24, 0) < 24) return 0;
    const le = hdr.readUInt32LE(0) === 0xa1b2c3d4 || hdr.readUInt32LE(0) === 0xa1b23c4d;
    let pos = 24;
    let n = 0;
    const buf = Buffer.alloc(1 << 22);
    // Read in large chunks; walk headers inside them.
    let chunkStart = 24;
    let chunkLen = readSync(fd, buf, 0, buf.length, chunkStart);
    while (chunkLen > 0) {
      while (pos + 16 <= chunkStart + chunkLen) {
        const off = pos - chunkStart;
        const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
        pos += 16 + incl;
        n++;
      }
      chunkStart = pos;
      chunkLen = readSync(fd, buf, 0, buf.length, chunkStart);
      if (chunkLen > 0 && chunkLen < 16) break;
    }
    return n;
  } finally {
    closeSync(fd);
  }
}

function waitFor(child, stream, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (d) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        child[stream].off("data", onData);
        resolve();
      }
    };
    child[stream].on("data", onData);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${seen}`)));
  });
}

async function startTool(tool, file) {
  let child;
  let ready;
  if (tool === "vmnet") {
    child = spawn(
      "taskset",
      ["-c", "1", process.execPath, join(here, "vmnet-capture.mjs"), NS, "t1", file, "pcap"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    ready = waitFor(child, "stdout", /ready\n/, tool);
  } else if (tool === "tcpdump") {
    child = spawn(
      "taskset",
      [
        "-c",
        "1",
        "ip",
        "netns",
        "exec",
        NS,
        "tcpdump",
        "-i",
        "t1",
        "-w",
        file,
        "-n",
        "-s",
        "1600",
        "-B",
        "32768",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    ready = waitFor(child, "stderr", /listening on/, tool);
  } else {
    child = spawn(
      "ip",
      [
        "netns",
        "exec",
        NS,
        "netsniff-ng",
        "--in",
        "t1",
        "--out",
        file,
        "--silent",
        "-T",
        "0xa1b2c3d4",
        "--ring-size",
        "32MiB",
        "--bind-cpu",
        "1",
        "--notouch-irq",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    ready = waitFor(child, "stdout", /Running/, tool);
  }
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  await ready;
  await sleep(200);
  return { child, output: () => out };
}

async function stopTool(t) {
  const exited = new Promise((r) => t.child.once("exit", r));
  t.child.kill("SIGINT");
  await exited;
}

/** One measurement: capture with `tool` while trafgen sends `count` frames at `rate` pps (0: max). */
async function measure(tool, { size, rate, count }) {
  const file = join(work, `${tool}.pcap`);
  rmSync(file, { force: true });
  const t = await startTool(tool, file);
  const ticks0 = cpuTicks(t.child.pid);
  const t0 = now();
  const args = [
    "-c",
    "0",
    "ip",
    "netns",
    "exec",
    NS,
    "trafgen",
    "-o",
    "t0",
    "-c",
    trafgenConf(size),
    "-P",
    "1",
    "-n",
    String(count),
    "-q",
    "-C",
  ];
  if (rate) args.push("-b", `${rate}pps`);
  execFileSync("taskset", args, { stdio: "ignore" });
  const sendSeconds = now() - t0;
  await sleep(300); // let the tool drain its ring
  const ticks = cpuTicks(t.child.pid) - ticks0;
  await stopTool(t);
  const captured = countPcap(file);
  rmSync(file, { force: true });
  return { captured, sent: count, ticks, cpu: ticks / CLK_TCK, sendSeconds, pps: captured / sendSeconds };
}

/**
 * At least RUNS runs, and more until the tool's CPU over all of them reaches MIN_TICKS: rates
 * and loss are medians of the runs, CPU per million packets is total ticks over total packets.
 */
async function medianOf(tool, spec) {
  const runs = [];
  let ticks = 0;
  while (runs.length < RUNS || (ticks < MIN_TICKS && runs.length < MAX_CPU_RUNS)) {
    const r = await measure(tool, spec);
    runs.push(r);
    ticks += r.ticks;
  }
  const captured = runs.reduce((n, r) => n + r.captured, 0);
  if (ticks < MIN_TICKS)
    console.warn(
      `${tool}: only ${ticks} CPU ticks in ${runs.length} runs (wanted ${MIN_TICKS}); raise BENCH_MAX_CPU_RUNS`,
    );
  return {
    captured: median(runs.map((r) => r.captured)),
    lost: median(runs.map((r) => r.sent - r.captured)),
    cpuPerM: (ticks / CLK_TCK / Math.max(1, captured)) * 1e6,
    cpuTicks: ticks,
    cpuRuns: runs.length,
    pps: median(runs.map((r) => r.pps)),
    sentPps: median(runs.map((r) => r.sent / r.sendSeconds)),
    runs,
  };
}

async function main() {
  ensureNetsniff();
  const load = loadavg();
  console.log(
    `load average before the run: ${load.map((l) => l.toFixed(2)).join(" ")} (${availableParallelism()} cores)`,
  );
  setup();
  const rows = [];
  const rates = {
    loadAverage: load,
    runs: RUNS,
    seconds: SECONDS,
    minCpuTicks: MIN_TICKS,
    clockTicksPerSecond: CLK_TCK,
    tools: {},
  };
  try {
    // CPU per packet at a rate every tool keeps up with, and at trafgen's highest rate.
    const workloads = [
      {
        name: `64-byte frames at ${CPU_RATE / 1000} kpps`,
        size: 64,
        rate: CPU_RATE,
        count: CPU_RATE * CPU_SECONDS,
      },
      { name: "64-byte frames at the highest rate (trafgen, one core)", size: 64, rate: 0, count: MAX_COUNT },
      {
        name: "1514-byte frames at the highest rate (trafgen, one core)",
        size: 1514,
        rate: 0,
        count: Math.round(MAX_COUNT / 3),
      },
    ];
    const results = {};
    for (const w of workloads) {
      results[w.name] = {};
      for (const tool of TOOLS) {
        const r = await medianOf(tool, w);
        results[w.name][tool] = r;
        console.log(
          `${w.name} | ${tool}: captured ${r.captured}/${w.count} (lost ${r.lost}), ${Math.round(r.pps)} pps captured, sender ${Math.round(r.sentPps)} pps, ${r.cpuPerM.toFixed(4)} CPU s per M packets (${r.cpuTicks} ticks over ${r.cpuRuns} runs)`,
        );
      }
      for (const peer of ["tcpdump", "netsniff-ng"]) {
        rows.push({
          workload: `${w.name}: CPU seconds per million packets captured`,
          subject: "vmnet",
          peer,
          subject_s: results[w.name].vmnet.cpuPerM,
          peer_s: results[w.name][peer].cpuPerM,
          subject_ticks: results[w.name].vmnet.cpuTicks,
          peer_ticks: results[w.name][peer].cpuTicks,
        });
      }
    }
    // The highest rate of the ladder each tool captures without losing a packet (every run).
    for (const tool of TOOLS) {
      let lossless = 0;
      let losslessPps = 0;
      for (const rate of RATES) {
        const runs = [];
        for (let i = 0; i < RUNS; i++)
          runs.push(await measure(tool, { size: 64, rate, count: rate * SECONDS }));
        const ok = runs.every((r) => r.captured === r.sent);
        console.log(
          `ladder ${rate} pps | ${tool}: ${ok ? "lossless" : `lost ${runs.map((r) => r.sent - r.captured).join("/")}`}, sender reached ${Math.round(median(runs.map((r) => r.sent / r.sendSeconds)))} pps`,
        );
        if (!ok) break;
        lossless = rate;
        losslessPps = median(runs.map((r) => r.captured / r.sendSeconds));
      }
      const max = results[workloads[1].name][tool];
      rates.tools[tool] = {
        losslessLadderRate: lossless,
        losslessCapturedPps: Math.round(losslessPps),
        highestRate: {
          sentPps: Math.round(max.sentPps),
          capturedPps: Math.round(max.pps),
          lost: max.lost,
          lostFraction: max.lost / MAX_COUNT,
        },
        cpuSecondsPerMillion: Object.fromEntries(
          workloads.map((w) => [w.name, results[w.name][tool].cpuPerM]),
        ),
      };
    }
  } finally {
    spawnSync("ip", ["netns", "del", NS]);
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(join(here, "results", "capture.json"), `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(join(here, "results", "capture-rates.json"), `${JSON.stringify(rates, null, 2)}\n`);
  for (const r of rows)
    console.log(`${r.workload} | vmnet/${r.peer}: ${(r.subject_s / r.peer_s).toFixed(2)}x`);
}

await main();
