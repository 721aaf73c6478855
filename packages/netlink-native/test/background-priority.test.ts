// Kernel work the addon does on libuv's pool (here: one sendmsg carrying hundreds of veth
// creations) runs at nice +10 on that pool thread only, so the event-loop thread gets the core
// whenever both want it; afterwards the thread is back at its own priority. Observed from
// /proc/self/task/*/stat while the batch is in flight.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { native, Rtnl } from "../src/index.js";

/** nice of every thread of this process, by tid (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

describePrivileged("pool work priority", () => {
  test("a pool thread runs a large netlink batch at nice +10 and is back at 0 afterwards; the loop thread stays at 0", async ({
    netns,
  }) => {
    const before = threadNice();
    const mainNice = before.get(process.pid);
    expect(mainNice).toBe(0);
    for (const n of before.values()) expect(n).toBe(0);
    const rtnl = await Rtnl.open({ netns: netns.name });
    const seen = new Map<number, Set<number>>();
    const sample = () => {
      for (const [tid, n] of threadNice()) {
        const s = seen.get(tid) ?? new Set<number>();
        s.add(n);
        seen.set(tid, s);
      }
    };
    const sampler = setInterval(sample, 1);
    try {
      await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          rtnl.links.add({ kind: "veth", name: `bp${i}`, peer: { name: `bq${i}` } }),
        ),
      );
    } finally {
      clearInterval(sampler);
      rtnl.close();
    }
    // VMNET_POOL_NICE=0, or no CAP_SYS_NICE in the initial user namespace (a lowered thread could
    // not be raised back): then no thread may be lowered at all.
    const steps = native().poolWorkNice();
    // Root in the initial user namespace (how the suite runs) always has it, at the default 10.
    const initUserNs = readlinkSync("/proc/self/ns/user") === "user:[4026531837]";
    if (process.getuid?.() === 0 && initUserNs && !process.env.VMNET_POOL_NICE) expect(steps).toBe(10);
    const lowered = [...seen].filter(([, s]) => [...s].some((n) => n !== 0)).map(([tid]) => tid);
    const loweredTo = new Set([...seen].flatMap(([, s]) => [...s].filter((n) => n !== 0)));
    // The last answers arrive before the kernel returns from the sendmsg() that carried them: the
    // pool thread restores its priority a moment after the promises settle.
    let after = threadNice();
    for (let waited = 0; [...after.values()].some((n) => n !== 0) && waited < 5000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
      after = threadNice();
    }
    console.log(
      `pool work nice +${steps}; threads seen lowered during the batch: ${lowered.join(", ") || "none"}; ` +
        `main thread ${process.pid} nice values ${[...(seen.get(process.pid) ?? [])].join(", ")}`,
    );
    expect(seen.get(process.pid)).toEqual(new Set([0])); // the event loop is never lowered
    for (const [tid, n] of after) expect({ tid, n }).toEqual({ tid, n: 0 }); // nobody left lowered
    if (steps > 0) {
      expect(steps).toBe(Number(process.env.VMNET_POOL_NICE || 10));
      expect(lowered.length).toBeGreaterThan(0);
      expect(lowered).not.toContain(process.pid);
      expect(loweredTo).toEqual(new Set([steps]));
    } else {
      console.log(
        "pool priority: off in this process (VMNET_POOL_NICE=0 or no CAP_SYS_NICE); checking nothing is lowered",
      );
      expect(lowered).toEqual([]);
    }
  });
});
