// Long-lived use must not leak: thousands of handles opened and closed leave the heap and the fd
// table where they were (measured after a forced garbage collection).
import { readdirSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { Rtnl } from "../src/index.js";

const gc = (globalThis as { gc?: () => void }).gc;

async function settledHeap(): Promise<number> {
  if (!gc) throw new Error("run vitest with --expose-gc (vitest.config.ts sets it for the forks pool)");
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

const fdCount = () => readdirSync("/proc/self/fd").length;

describePrivileged("lifetime", () => {
  test("3,000 Rtnl open/request/close cycles leave the heap and fds as they were", async ({ netns }) => {
    const cycle = async (i: number) => {
      const r = await Rtnl.open({ netns: netns.name });
      if (i % 2 === 0) await r.links.get(1);
      r.close();
    };
    for (let i = 0; i < 1000; i++) await cycle(i); // warm-up: code compiled, caches filled
    // Three rounds of 3,000: a leak grows the heap in every round; collector noise does not.
    const rounds: { heap: number; fds: number; perCycle: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const heapBefore = await settledHeap();
      const fdsBefore = fdCount();
      for (let i = 0; i < 3000; i++) await cycle(i);
      const heapAfter = await settledHeap();
      rounds.push({ heap: heapAfter, fds: fdCount() - fdsBefore, perCycle: (heapAfter - heapBefore) / 3000 });
      console.log(
        `3000 Rtnl cycles (round ${round + 1}): heap ${(heapBefore / 1024).toFixed(0)} KiB -> ` +
          `${(heapAfter / 1024).toFixed(0)} KiB (${((heapAfter - heapBefore) / 3000).toFixed(1)} B/cycle), ` +
          `fds ${fdsBefore} -> ${fdCount()}`,
      );
    }
    for (const r of rounds) expect(r.fds).toBe(0);
    // The leak this guards against was ~870 B/cycle (a strong reference from each closed socket
    // to its callback kept the whole handle alive); the smallest round must be near zero.
    expect(Math.min(...rounds.map((r) => r.perCycle))).toBeLessThan(40);
  });

  test("2,000 handles closed while their name lookup runs on the pool leave the heap and fds as they were", async ({
    netns,
  }) => {
    let closedMidway = 0;
    const cycle = async (i: number) => {
      const r = await Rtnl.open({ netns: netns.name });
      const lookup = r.links.resolve(["lo", 1]);
      // Half the handles close while the ioctl job holds their fd on the pool.
      if (i % 2 === 0) r.close();
      const got = await lookup.then(
        (m) => m.get("lo"),
        () => undefined,
      );
      if (i % 2 === 0) closedMidway++;
      else expect(got).toBe(1);
      r.close();
    };
    for (let i = 0; i < 500; i++) await cycle(i); // warm-up
    // Three rounds, as above: a leak grows the heap in every round; collector noise does not.
    const perCycle: number[] = [];
    for (let round = 0; round < 3; round++) {
      const heapBefore = await settledHeap();
      const fdsBefore = fdCount();
      for (let i = 0; i < 2000; i++) await cycle(i);
      await new Promise((r) => setTimeout(r, 100)); // a job in flight closes its fd when done
      const heapAfter = await settledHeap();
      perCycle.push((heapAfter - heapBefore) / 2000);
      console.log(
        `2000 lookup cycles (round ${round + 1}): heap ${(heapBefore / 1024).toFixed(0)} KiB -> ` +
          `${(heapAfter / 1024).toFixed(0)} KiB (${((heapAfter - heapBefore) / 2000).toFixed(1)} B/cycle), ` +
          `fds ${fdsBefore} -> ${fdCount()}`,
      );
      expect(fdCount()).toBe(fdsBefore);
    }
    expect(closedMidway).toBe(250 + 3000);
    expect(Math.min(...perCycle)).toBeLessThan(40);
  });
});
