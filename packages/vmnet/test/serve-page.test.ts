// vmnet serve in a real browser (Debian's chromium, headless, driven by playwright-core) against
// a real OVS sandbox lab: two VLANs, four container taps, traffic running.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Bridge, type ContainerSideNetwork, setupContainerSideNetwork } from "../src/index.js";
import { type ServeHandle, startServe } from "../src/serve/index.js";
import { ping, type SwitchEnv, startSwitch } from "./support/bridges-env.js";
import { makePod, type Pod } from "./support/vm-side-pod.js";

const CHROMIUM = "/usr/bin/chromium";

// The page's test hook, used inside page.evaluate callbacks (this file compiles without the DOM lib).
// biome-ignore lint/suspicious/noExplicitAny: the page's own untyped object
declare const window: { __vmnet: any };

describe("vmnet serve page", () => {
  let env: SwitchEnv;
  let br: Bridge;
  let serve: ServeHandle;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const vms: TestNetns[] = [];
  const taps: string[] = [];
  const traffic: { kill(): void }[] = [];
  let pod: Pod;
  let csn: ContainerSideNetwork;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vmnet-serve-"));
    env = await startSwitch();
    br = await env.bridges.get("lab");
    const lab = [
      { vlan: 10, ip: "10.9.0.1" },
      { vlan: 10, ip: "10.9.0.2" },
      { vlan: 20, ip: "10.9.0.3" },
      { vlan: 20, ip: "10.9.0.4" },
    ];
    for (const [i, h] of lab.entries()) {
      const ns = await createNetns("svm");
      vms.push(ns);
      taps.push(
        await br.createContainerTap({
          netns: ns.name,
          vlan: h.vlan,
          mac: `02:00:00:00:09:0${i + 1}`,
          address: `${h.ip}/24`,
        }),
      );
    }
    const [a, , c] = vms as [TestNetns, TestNetns, TestNetns];
    expect(await ping(a, "10.9.0.2")).toBe(true);
    expect(await ping(c, "10.9.0.4")).toBe(true);
    // The busy tap: a floods b with large pings; the quiet pair pings twice a second.
    const busy = a.exec("ping", ["-f", "-s", "1400", "-w", "120", "10.9.0.2"], { reject: false });
    const quiet = c.exec("ping", ["-i", "0.5", "-w", "120", "10.9.0.4"], { reject: false });
    traffic.push(busy, quiet);
    // A pod whose CNI interface is handed to a VM: the page shows it with its TAP, mode and lease.
    pod = await makePod("bridge");
    csn = await setupContainerSideNetwork({
      netns: pod.netns.name,
      result: pod.result,
      mode: "bridge",
      stateDir: dir,
    });
    serve = await startServe({
      bridges: env.bridges,
      listen: "127.0.0.1:0",
      stateDir: dir,
      // No fast timer: taps that come and go must reach the page through the OVSDB monitor and
      // the sampler's link dump.
      topologyIntervalMs: 600_000,
      log: () => {},
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
      env: { ...process.env, HOME: dir },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(serve.url);
    expect(errors).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    for (const t of traffic) t.kill();
    await browser?.close();
    await serve?.close();
    await csn?.teardown();
    await pod?.remove();
    await env?.stop();
    for (const ns of vms) await ns.remove().catch(() => {});
  });

  const parentOf = (tap: string) => page.evaluate((t) => window.__vmnet.parentOf(t), tap);

  test("the graph shows every tap inside its VLAN group on its bridge", async () => {
    await page.waitForFunction((names) => names.every((n: string) => window.__vmnet.parentOf(n)), taps, {
      timeout: 20_000,
      polling: 100,
    });
    const parents = await Promise.all(taps.map(parentOf));
    expect(parents).toEqual(["vlan:lab:10", "vlan:lab:10", "vlan:lab:20", "vlan:lab:20"]);
    const grand = await page.evaluate(() => window.__vmnet.cy.getElementById("vlan:lab:10").parent().id());
    expect(grand).toBe("br:lab");
    // The MAC is on the tap's label, and a bandwidth row exists for each tap.
    const label = await page.evaluate(
      (t) => window.__vmnet.cy.getElementById(`tap:${t}`).data("label"),
      taps[0],
    );
    expect(label).toContain("02:00:00:00:09:01");
    // The container-side network: a pod node holding its TAP, labelled with mode and lease.
    const podNode = await page.evaluate((name) => {
      const cy = window.__vmnet.cy;
      const n = cy.getElementById(`pod:${name}`);
      return { label: n.data("label"), children: n.children().map((c: any) => c.data("label")) };
    }, pod.netns.name);
    expect(podNode.label).toBe(`pod ${pod.netns.name} (bridge)`);
    expect(podNode.children).toHaveLength(1);
    expect(podNode.children[0]).toContain(`lease ${pod.result.ips[0]?.address}`);
    const rows = await page.$$eval(".bw-row", (els) =>
      els.map((e) => (e as unknown as { dataset: { tap: string } }).dataset.tap),
    );
    expect(rows).toEqual(taps);
  }, 30_000);

  test("the busy tap's bandwidth plot rises; the quiet one stays low", async () => {
    const busyTap = taps[0] as string;
    const quietTap = taps[2] as string;
    await page.waitForFunction(
      (t) => {
        const s = window.__vmnet.series(t);
        return s && s.rx.filter((v: number | null) => (v ?? 0) > 200_000).length >= 3;
      },
      busyTap,
      { timeout: 30_000, polling: 100 },
    );
    const series = await page.evaluate(
      ([b, q]) => ({ busy: window.__vmnet.series(b), quiet: window.__vmnet.series(q) }),
      [busyTap, quietTap],
    );
    const peak = (xs: (number | null)[]) => Math.max(...xs.map((v) => v ?? 0));
    expect(peak(series.busy.rx)).toBeGreaterThan(200_000);
    expect(peak(series.quiet.rx)).toBeLessThan(20_000);
    // The busy tap is also the reddest node in the graph.
    const load = await page.evaluate(
      (t) => window.__vmnet.cy.getElementById(`tap:${t}`).data("load"),
      busyTap,
    );
    expect(load).toBeGreaterThan(0.5);
    // Each plot: rx and tx as two series with a legend carrying the current rates, a y axis whose
    // labels carry their unit, and a one-line header (no wrapping, whatever the rates).
    await page.waitForFunction((t) => window.__vmnet.plotLayout(t)?.yLabels.length >= 2, busyTap, {
      timeout: 10_000,
      polling: 100,
    });
    for (const t of taps) {
      const layout = await page.evaluate((name) => window.__vmnet.plotLayout(name), t);
      expect(layout.series).toEqual(["rx", "tx"]);
      expect(layout.legend).toEqual([
        expect.stringMatching(/^rx (–|\d)/),
        expect.stringMatching(/^tx (–|\d)/),
      ]);
      expect(layout.headHeight).toBeLessThanOrEqual(layout.lineHeight + 1);
      expect(layout.headClipped).toBe(false);
    }
    const busyLayout = await page.evaluate((name) => window.__vmnet.plotLayout(name), busyTap);
    expect(busyLayout.legend[0]).toMatch(/^rx \d+(\.\d)? (k|M)B\/s$/);
    expect(busyLayout.yLabels[0]).toBe("0");
    expect(busyLayout.yLabels.length).toBeGreaterThanOrEqual(2);
    for (const l of busyLayout.yLabels.slice(1)) expect(l).toMatch(/^\d+(\.\d)? (k|M)?B\/s$/);
    // The screenshot (a test artifact; the README's with VMNET_SCREENSHOT set): the lab with its
    // traffic, taken while the busy plot is up (for the README, once it holds half a minute).
    if (process.env.VMNET_SCREENSHOT)
      await page.waitForFunction((t) => window.__vmnet.series(t).t.length >= 30, busyTap, {
        timeout: 40_000,
        polling: 500,
      });
    const shot = await page.screenshot({ timeout: 15_000, animations: "allow", caret: "initial" });
    expect(shot.length).toBeGreaterThan(10_000);
    await writeFile(join(dir, "serve-screenshot.png"), shot);
    console.log(`screenshot: ${join(dir, "serve-screenshot.png")}`);
    if (process.env.VMNET_SCREENSHOT) {
      const docs = new URL("../../../docs/", import.meta.url);
      await mkdir(docs, { recursive: true });
      await writeFile(new URL("serve-screenshot.png", docs), shot);
    }
  }, 90_000);

  test("a tap created while the page is open appears; a destroyed one disappears", async () => {
    const ns = await createNetns("svm");
    vms.push(ns);
    const added = await br.createContainerTap({ netns: ns.name, vlan: 20, address: "10.9.0.5/24" });
    await page.waitForFunction((t) => window.__vmnet.parentOf(t) === "vlan:lab:20", added, {
      timeout: 15_000,
      polling: 100,
    });
    expect(await page.$(`.bw-row[data-tap="${added}"]`)).not.toBeNull();
    const gone = taps[1] as string;
    await br.destroyTaps([gone]);
    await page.waitForFunction((t) => window.__vmnet.parentOf(t) === undefined, gone, {
      timeout: 15_000,
      polling: 100,
    });
    expect(await page.$(`.bw-row[data-tap="${gone}"]`)).toBeNull();
    // The page still gets samples after the change (it keeps working when taps come and go).
    const before = await page.evaluate(() => window.__vmnet.state.events);
    await page.waitForFunction((n) => window.__vmnet.state.events > n + 1, before, {
      timeout: 10_000,
      polling: 100,
    });
  }, 40_000);

  test("update latency: server sample to DOM updated", async () => {
    await page.waitForFunction(() => window.__vmnet.state.latencies.length >= 12, undefined, {
      timeout: 20_000,
      polling: 100,
    });
    // The first samples arrive while the page is still loading: measure the steady state.
    const lat = ((await page.evaluate(() => window.__vmnet.state.latencies)) as number[]).slice(2);
    const sorted = [...lat].sort((x, y) => x - y);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
    console.log(
      `vmnet serve page update latency over ${lat.length} samples: median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${sorted.at(-1)} ms`,
    );
    expect(q(0.5)).toBeLessThan(500);
  }, 45_000);
});
