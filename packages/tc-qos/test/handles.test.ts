// A Tc sends on an Rtnl's socket: its own (closed with it) or one passed in (shared, left open).
// Opening and closing thousands of handles must not leak file descriptors or memory.
import { readdirSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { Rtnl } from "@vmnet/netlink-native";
import { expect } from "vitest";
import { applyQos, getQos, Tc } from "../src/index.js";

const fds = () => readdirSync("/proc/self/fd").length;

describePrivileged("Tc handles", () => {
  test("Tc.open({ rtnl }) shares the Rtnl's socket; closing the Tc leaves it open", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "h0", peer: { name: "h1" }, up: true });
      const before = fds();
      const tc = await Tc.open({ rtnl });
      expect(fds()).toBe(before);
      expect(tc.connection).toBe(rtnl.connection);
      expect(await tc.rtnl()).toBe(rtnl);
      await applyQos("h0", { rate: "3mbit" }, { tc });
      tc.close();
      // The Rtnl still works after the Tc is closed.
      expect((await rtnl.links.get("h0")).name).toBe("h0");
      const tc2 = await Tc.open({ rtnl });
      expect((await getQos("h0", { tc: tc2 })).rate).toBe(375_000);
      tc2.close();
      expect(fds()).toBe(before);
    } finally {
      rtnl.close();
    }
  });

  test("names resolved by 500 streamed link dumps (half ended early): no fd or memory left behind", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    const tc = await Tc.open({ netns: netns.name });
    try {
      const n = 80;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          rtnl.links.add({ kind: "veth", name: `s${i}`, peer: { name: `t${i}` } }),
        ),
      );
      const names = Array.from({ length: n }, (_, i) => `s${i}`);
      const want = await Promise.all(names.map((l) => rtnl.links.index(l)));
      // Odd rounds ask for the first links only (the read stops early), even rounds for all.
      const round = async (k: number) => {
        for (let i = 0; i < k; i++) {
          const asked = i % 2 ? names.slice(0, 70) : names;
          const got = await Promise.all(asked.map((l) => tc.ifindex(l)));
          expect(got).toEqual(want.slice(0, asked.length));
        }
      };
      await round(50);
      global.gc?.();
      await new Promise((r) => setTimeout(r, 100));
      const fd0 = fds();
      const heap0 = process.memoryUsage().heapUsed;
      await round(500);
      global.gc?.();
      await new Promise((r) => setTimeout(r, 100));
      const grown = (process.memoryUsage().heapUsed - heap0) / 1024 / 1024;
      console.log(`500 streamed name dumps: fds ${fd0} -> ${fds()}, heap +${grown.toFixed(1)} MiB`);
      expect(fds()).toBe(fd0);
      expect(grown).toBeLessThan(20);
    } finally {
      tc.close();
      rtnl.close();
    }
  });

  test("2000 handles opened and closed: no file descriptor or memory left behind", async ({ netns }) => {
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const tc = await Tc.open({ netns: netns.name });
        await tc.qdiscs.list();
        tc.close();
      }
    };
    // A socket closed while its last send is still being completed on libuv's pool closes its fd
    // when that completion runs (a turn or two later): let those finish before counting.
    const settled = () => new Promise((r) => setTimeout(r, 100));
    await round(200); // warm up (JIT, pools)
    global.gc?.();
    await settled();
    const fd0 = fds();
    const rss0 = process.memoryUsage().rss;
    await round(2000);
    global.gc?.();
    await settled();
    const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024;
    console.log(`2000 Tc open/list/close: fds ${fd0} -> ${fds()}, rss +${grown.toFixed(1)} MiB`);
    expect(fds()).toBe(fd0);
    expect(grown).toBeLessThan(40);
  });
});
