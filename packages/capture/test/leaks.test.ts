// A long-running service opens and closes captures all day: each one must give back its fds
// (socket, eventfd, file), its ring and its buffers when it ends, whether or not the garbage
// collector ever gets to its objects. Thousands of captures, live and to files, are opened and
// closed; the process's fd count and resident memory are compared before and after.
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect } from "vitest";
import { batches, startCapture } from "../src/index.js";
import { vethPair } from "./helpers.js";

const COUNT = Number(process.env.LEAK_CAPTURES ?? 2000);
const PARALLEL = 8;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-leak-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const fds = () => readdirSync("/proc/self/fd").length;
async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage.rss();
}

/** Runs `one(i)` for i < n, `PARALLEL` at a time. */
async function many(n: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let i = next++; i < n; i = next++) await one(i);
    }),
  );
}

describePrivileged("no leak across thousands of captures", () => {
  test(`${COUNT} file captures and ${COUNT} live captures: fds back to where they were, RSS bounded`, async ({
    netns,
  }) => {
    await vethPair(netns);
    const base = { iface: "a1", netns: netns.name, bufferSize: 1 << 16 } as const;
    const fileCapture = async (i: number) => {
      const cap = await startCapture({
        ...base,
        file: join(dir, `leak-${i % PARALLEL}.pcapng`),
        overwrite: true,
        // Some with an expression: libpcap's live handle is opened and closed for each.
        ...(i % 4 === 0 && { filter: "ether proto 0x88b5" }),
      });
      await cap.stop();
    };
    const liveCapture = async (i: number) => {
      const live = batches({ ...base, ...(i % 4 === 0 && { filter: "ether proto 0x88b5" }) });
      await live.linkType;
      await live.stop();
    };
    // Warm up: libpcap loaded, libuv's pool threads started, V8's code compiled.
    await many(50, fileCapture);
    await many(50, liveCapture);
    const fds0 = fds();
    const rss0 = await settledRss();

    const t0 = Date.now();
    await many(COUNT, fileCapture);
    const fds1 = fds();
    const rss1 = await settledRss();
    await many(COUNT, liveCapture);
    const fds2 = fds();
    const rss2 = await settledRss();
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `leaks: ${COUNT} file + ${COUNT} live captures in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `fds ${fds0} -> ${fds1} (file) -> ${fds2} (live); ` +
        `RSS ${mib(rss0)} -> ${mib(rss1)} (file) -> ${mib(rss2)} MiB (live)`,
    );
    // Before the fix: +1 eventfd per capture, and about 4 MiB per file capture (its write buffer).
    expect(fds1 - fds0).toBeLessThanOrEqual(2);
    expect(fds2 - fds0).toBeLessThanOrEqual(2);
    expect(rss1 - rss0).toBeLessThan(48 * 2 ** 20);
    expect(rss2 - rss0).toBeLessThan(48 * 2 ** 20);
  });
});
