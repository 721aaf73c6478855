// vmnet serve with many taps: the server's CPU cost while it samples every link once a second,
// re-reads the topology on OVSDB changes and every 10 s, and pushes both to one connected page, with /metrics scraped
// every 15 s; and the push latency (sample taken -> event received by the client process).
// The client runs in its own process so that its parsing does not count as the server's CPU.
// Reference: one `ip -s -j link` dump of the same netns (what a shell-based sampler would pay).
// Then (unless BENCH_SERVE_BROWSER=0) the page itself in headless chromium for 20 s: the time from
// a sample to the page's DOM holding it, and how long the first topology took to draw.
// BENCH_SERVE_TAPS (default 1000), BENCH_SERVE_SECONDS (default 60). Writes bench/results/serve.json.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns } from "@vmnet/netlink-native";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { Bridges, startServe } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const TAPS = Number(process.env.BENCH_SERVE_TAPS ?? 1000);
const SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 60);

const CLIENT = `
const [url, seconds] = process.argv.slice(1);
const lat = []; let topo = 0; let scrapes = 0; let bytes = 0;
const res = await fetch(url + "events");
const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = "";
const end = Date.now() + Number(seconds) * 1000;
const scrape = setInterval(async () => { const t = await (await fetch(url + "metrics")).text(); scrapes++; bytes += t.length; }, 15000);
while (Date.now() < end) {
  const { value, done } = await reader.read(); if (done) break;
  buf += dec.decode(value, { stream: true });
  let i;
  while ((i = buf.indexOf("\\n\\n")) >= 0) {
    const msg = buf.slice(0, i); buf = buf.slice(i + 2);
    const ev = /^event: (.*)$/m.exec(msg)?.[1]; const data = /^data: (.*)$/m.exec(msg)?.[1];
    if (ev === "bandwidth") lat.push(Date.now() - JSON.parse(data).sampledAt);
    if (ev === "topology") topo++;
  }
}
clearInterval(scrape);
console.log(JSON.stringify({ lat, topo, scrapes, metricsBytes: scrapes ? Math.round(bytes / scrapes) : 0 }));
process.exit(0);
`;

async function pageLatency(url) {
  const { chromium } = await import("playwright-core");
  const home = await mkdtemp(join(tmpdir(), "serve-bench-"));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
    env: { ...process.env, HOME: home },
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction((n) => document.querySelectorAll(".bw-row").length === n, TAPS, {
      timeout: 120_000,
      polling: 200,
    });
    const firstDrawMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 20_000));
    const lat = (await page.evaluate(() => window.__vmnet.state.latencies)).slice(2);
    const drawMs = await page.evaluate(() => window.__vmnet.state.drawMs);
    return {
      firstDrawMs,
      drawMs,
      latencyMs: { median: pct(lat, 0.5), p99: pct(lat, 0.99), max: Math.max(...lat), n: lat.length },
    };
  } finally {
    await browser.close();
    await rm(home, { recursive: true, force: true });
  }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

const ns = `bserve${process.pid}`;
await createNetns(ns);
const ovs = await OvsSandbox.start({ netns: ns });
try {
  const bridges = await Bridges.open({ db: ovs.remote, netns: ns, datapathType: "netdev", owner: "bench" });
  const bridge = await bridges.get("bench");
  const t0 = performance.now();
  await bridge.createTaps(Array.from({ length: TAPS }, (_, i) => ({ name: `t${i}`, vlan: 10 + (i % 10) })));
  console.log(`${TAPS} taps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const topologyIntervalMs = Number(process.env.BENCH_SERVE_TOPOLOGY_MS ?? 10000);
  const serve = await startServe({
    bridges,
    listen: "127.0.0.1:0",
    stateDir: false,
    topologyIntervalMs,
    log: console.error,
  });
  const topo = await serve.refresh();
  if (topo.taps.length !== TAPS) throw new Error(`topology has ${topo.taps.length} taps, expected ${TAPS}`);
  const base = `http://127.0.0.1:${serve.address.port}/`;
  const client = spawn(process.execPath, ["--input-type=module", "-e", CLIENT, base, String(SECONDS)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  client.stdout.on("data", (d) => {
    out += d;
  });
  const exited = new Promise((r) => client.on("exit", r));
  await new Promise((r) => setTimeout(r, 1500));
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  const samples0 = serve.stats().samples;
  const reads0 = serve.stats().topologyReads;
  await new Promise((r) => setTimeout(r, SECONDS * 1000 - 1500));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  const samples = serve.stats().samples - samples0;
  const topologyReads = serve.stats().topologyReads - reads0;
  await exited;
  const c = JSON.parse(out.trim().split("\n").pop());
  let page;
  if (process.env.BENCH_SERVE_BROWSER !== "0") page = await pageLatency(base);
  const d0 = performance.now();
  await execa("ip", ["-n", ns, "-s", "-j", "link", "show"]);
  const ipDumpMs = performance.now() - d0;
  const result = {
    taps: TAPS,
    topologyIntervalMs,
    seconds: Math.round(wall / 1000),
    serverCpuPercent: +(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(2),
    serverCpuMsPerSecond: +((cpu.user + cpu.system) / 1000 / (wall / 1000)).toFixed(1),
    samples,
    topologyReads,
    pushLatencyMs: {
      median: pct(c.lat, 0.5),
      p99: pct(c.lat, 0.99),
      max: Math.max(...c.lat),
      n: c.lat.length,
    },
    topologyEvents: c.topo,
    metricsScrapes: c.scrapes,
    metricsBytes: c.metricsBytes,
    page,
    peerIpLinkDumpMs: +ipDumpMs.toFixed(1),
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
    // Other work on the machine inflates every figure above: recorded with them.
    loadAverage1m: +loadavg()[0].toFixed(2),
    node: process.version,
    at: new Date().toISOString(),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(join(here, "results", "serve.json"), `${JSON.stringify(result, null, 2)}\n`);
  await serve.close();
  await bridges.destroy();
} finally {
  await ovs.stop();
  deleteNetns(ns);
}
