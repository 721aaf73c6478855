// One process serving many pods, each in its own netns, and a server started and stopped
// thousands of times without leaking descriptors or memory.
import { readdirSync } from "node:fs";
import { createNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { podAndVm, startUdhcpc } from "./support/dhcp-peers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const leaseFor = (i: number): DhcpLease => ({
  clientMac: `0a:58:0a:0b:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`,
  address: `10.11.${i}.10`,
  prefixLength: 24,
  gateway: `10.11.${i}.1`,
  routes: [{ dst: "0.0.0.0/0" }],
  nameservers: ["10.96.0.10"],
  search: [],
  leaseTimeS: 3600,
});

const openFds = () => readdirSync("/proc/self/fd").length;

describePrivileged("DhcpServer at scale", () => {
  test("50 pods, each in its own netns, served by one process: every guest gets its own lease", async () => {
    const PODS = 50;
    const vm = await createNetns("dvms");
    cleanups.push(() => vm.remove());
    const nets = [];
    for (let i = 0; i < PODS; i++) {
      const net = await podAndVm(leaseFor(i).clientMac, { vm, vmIf: `g${i}` });
      cleanups.push(() => net.remove());
      nets.push(net);
    }
    const servers = await Promise.all(
      nets.map((net, i) =>
        DhcpServer.start({ netns: net.pod.name, bindings: [{ listenOn: net.podIf, lease: leaseFor(i) }] }),
      ),
    );
    cleanups.push(() => Promise.all(servers.map((s) => s.stop())));
    const runs = await Promise.all(
      // Patient clients: spawning 50 processes holds this test's event loop (which is also the
      // server's) for seconds on a small machine, longer than udhcpc's default retries.
      nets.map((net) =>
        startUdhcpc(vm, net.vmIf, { install: false, args: ["-t", "10", "-T", "3"] }).then((c) => c.done()),
      ),
    );
    const failed = runs.flatMap((run, i) => (run.events.some((e) => e.event === "bound") ? [] : [i]));
    expect(failed, JSON.stringify(failed.map((i) => servers[i]?.stats()))).toEqual([]);
    runs.forEach((run, i) => {
      const bound = run.events.find((e) => e.event === "bound");
      expect(bound?.env, `guest ${i}: ${run.stderr}`).toMatchObject({
        ip: `10.11.${i}.10`,
        router: `10.11.${i}.1`,
      });
    });
    // Each server saw only its own guest.
    servers.forEach((s) => {
      // (A guest that timed out while the loop was busy may have asked twice: one ACK or more.)
      expect(s.stats().bindings[0]).toMatchObject({ bound: true, sent: { nak: 0 } });
      expect(s.stats().bindings[0]?.sent.ack).toBeGreaterThanOrEqual(1);
      expect(s.stats().total.dropped["unknown-client"]).toBeUndefined();
    });
  }, 180_000);

  test("2000 start/stop cycles leave no descriptor behind and do not grow memory", async () => {
    const lease = leaseFor(1);
    const net = await podAndVm(lease.clientMac);
    cleanups.push(() => net.remove());
    const options = { netns: net.pod.name, bindings: [{ listenOn: net.podIf, lease }] };
    const gc = (globalThis as { gc?: () => void }).gc;
    // Warm up (module loading, the addon, first allocations), then measure.
    for (let i = 0; i < 100; i++) await (await DhcpServer.start(options)).stop();
    gc?.();
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      const server = await DhcpServer.start(options);
      await server.stop();
    }
    const perCycleMs = (performance.now() - started) / 2000;
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
    const fdsAfter = openFds();
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    console.log(
      `dhcp start/stop x2000: ${perCycleMs.toFixed(2)} ms per cycle, fds ${fdsBefore} -> ${fdsAfter}, rss +${rssGrowthMb.toFixed(1)} MiB${gc ? "" : " (no --expose-gc)"}`,
    );
    expect(fdsAfter).toBe(fdsBefore);
    expect(rssGrowthMb).toBeLessThan(20);
  }, 180_000);
});
