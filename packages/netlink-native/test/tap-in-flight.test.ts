// A thousand TAP opens started at once reach libuv's pool at most eight at a time: each takes the
// kernel's RTNL lock, and pool threads waiting for it kept both cores busy while the event loop
// waited for one.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { native, openTap, Rtnl } from "../src/index.js";

describePrivileged("TAP jobs in flight", () => {
  test("300 opens and closes at once: all done, at most 8 on the pool at a time", async ({ netns }) => {
    const addon = native() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const openTapNative = addon.openTap as (...args: unknown[]) => Promise<unknown>;
    const closeFdsNative = addon.closeFds as (...args: unknown[]) => Promise<unknown>;
    let now = 0;
    let most = 0;
    const counted =
      (f: (...args: unknown[]) => Promise<unknown>) =>
      (...args: unknown[]) => {
        now++;
        most = Math.max(most, now);
        return f(...args).finally(() => {
          now--;
        });
      };
    addon.openTap = counted(openTapNative);
    addon.closeFds = counted(closeFdsNative);
    try {
      const taps = await Promise.all(
        Array.from({ length: 300 }, (_, i) => openTap({ name: `w${i}`, netns: netns.name })),
      );
      const rtnl = await Rtnl.open({ netns: netns.name });
      try {
        expect((await rtnl.links.list()).filter((l) => /^w\d+$/.test(l.name)).length).toBe(300);
        await Promise.all(taps.map((t) => t.close()));
        expect((await rtnl.links.list()).filter((l) => /^w\d+$/.test(l.name)).length).toBe(0);
      } finally {
        rtnl.close();
      }
      console.log(`most TAP jobs on the pool at once: ${most}`);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(8);
    } finally {
      addon.openTap = openTapNative;
      addon.closeFds = closeFdsNative;
    }
  });
});
