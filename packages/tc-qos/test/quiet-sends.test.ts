// A Tc's own socket sends its batches quietly (NetlinkConnection's quietSends): while the kernel
// works through a batch of qdisc grafts inside sendmsg() on the pool, the loop thread is not
// woken once per answer. Each request still gets its own answer, failures included.
import { readFileSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { NetlinkError, Rtnl } from "@vmnet/netlink-native";
import { expect } from "vitest";
import { Tc } from "../src/index.js";

/** Times the main (loop) thread went to sleep: /proc/self/status is the thread group leader's. */
const loopSleeps = () =>
  Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);

const tbf = { kind: "tbf" as const, handle: "1:", rate: "10mbit", burst: 16384, latency: "50ms" };

describePrivileged("quiet sends", () => {
  test("a Tc of its own sends quietly, a shared Rtnl's socket keeps its setting", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    const own = await Tc.open({ netns: netns.name });
    const shared = await Tc.open({ rtnl });
    try {
      expect(own.connection.quietSends).toBe(true);
      expect(shared.connection.quietSends).toBe(false);
    } finally {
      own.close();
      shared.close();
      rtnl.close();
    }
  });

  test("1000 root grafts: every answer arrives, one failure stays its own, the loop is not woken per answer", async ({
    netns,
  }) => {
    const n = 1000;
    const rtnl = await Rtnl.open({ netns: netns.name });
    const tc = await Tc.open({ netns: netns.name });
    try {
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          rtnl.links.add({ kind: "veth", name: `q${i}`, peer: { name: `r${i}` }, up: true }),
        ),
      );
      const links = await Promise.all(Array.from({ length: n }, (_, i) => tc.ifindex(`q${i}`)));
      // One link already has a root qdisc: its add fails with EEXIST, alone.
      await tc.qdiscs.add(links[500] as number, tbf);
      const quietRound = async (on: boolean) => {
        tc.connection.quietSends = on;
        const before = loopSleeps();
        const results = await Promise.allSettled(links.map((l) => tc.qdiscs.add(l, tbf)));
        const sleeps = loopSleeps() - before;
        await Promise.all(links.map((l) => tc.qdiscs.delete(l)));
        await tc.qdiscs.add(links[500] as number, tbf);
        return { results, sleeps };
      };
      const loud = await quietRound(false);
      const quiet = await quietRound(true);
      console.log(
        `loop thread slept ${loud.sleeps} times for ${n} adds answered one by one, ${quiet.sleeps} quietly`,
      );
      for (const { results } of [loud, quiet]) {
        const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ i, reason: r.reason }] : []));
        expect(failed.map((f) => f.i)).toEqual([500]);
        const reason = failed[0]?.reason as unknown;
        expect(reason).toBeInstanceOf(NetlinkError);
        expect((reason as NetlinkError).code).toBe("EEXIST");
      }
      // Answered one by one the loop sleeps between answers (hundreds of times on this machine);
      // quietly it wakes for each send's return, a handful of times.
      expect(quiet.sleeps).toBeLessThan(100);
      const roots = (await tc.qdiscs.list()).filter((q) => q.kind === "tbf" && q.parent === "root");
      expect(roots.map((q) => q.ifindex)).toEqual([links[500]]);
    } finally {
      tc.close();
      rtnl.close();
    }
  });
});
