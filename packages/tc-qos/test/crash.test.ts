// kill -9 during applyQos({ ingress }): whatever the dead process left (a provisionally named
// ifb, a marked one without its redirect, a complete shaper) must neither block later applyQos
// calls on that link nor survive reapQosLeftovers; unmarked ifbs and foreign aliases are never
// touched. A real child process is killed with SIGKILL at random points, many times.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { Rtnl } from "@vmnet/netlink-native";
import { expect } from "vitest";
import { applyQos, getQos, reapQosLeftovers, removeQos } from "../src/index.js";

const child = fileURLToPath(new URL("./crash-child.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Kills the child `delayMs` after it is ready, or, with delayMs "after-ifb", where it paused. */
async function killedMidway(netns: string, link: string, delayMs: number | "after-ifb"): Promise<void> {
  const args = delayMs === "after-ifb" ? [child, netns, link, "pause-after-ifb"] : [child, netns, link];
  const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => {
    err += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    p.stdout.once("data", () => resolve());
    p.once("exit", (code) => reject(new Error(`child exited (${code}) before it was ready: ${err}`)));
  });
  if (delayMs === "after-ifb") {
    await new Promise<void>((resolve, reject) => {
      p.stdout.on("data", (d) => {
        if (String(d).includes("paused before")) resolve();
      });
      p.once("exit", (code) => reject(new Error(`child exited (${code}) before it paused: ${err}`)));
    });
  } else {
    await new Promise((r) => setTimeout(r, delayMs));
  }
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await exited;
  expect(err, "the child itself must not fail").toBe("");
}

describePrivileged("a process killed during applyQos", () => {
  test("leaves nothing that blocks the link or escapes the reaper (SIGKILL at random points)", async ({
    netns,
  }) => {
    expect(existsSync(dist), "the child runs the built package: run `pnpm build` first").toBe(true);
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "v0", peer: { name: "v1" }, up: true });
      // Foreign ifbs: one unmarked, one with someone else's alias, one named like a provisional
      // ifb but carrying an alias: none may be touched.
      await rtnl.links.add({ kind: "ifb", name: "fx0" });
      await rtnl.links.add({ kind: "ifb", name: "fx1", alias: "not ours" });
      await rtnl.links.add({ kind: "ifb", name: "vq1.0.1", alias: "someone" });
      const foreign = ["fx0", "fx1", "vq1.0.1"];
      const opts = { netns: netns.name };
      const v0 = await rtnl.links.index("v0");
      const leftovers = { provisional: 0, marked: 0 };
      const iterations = 14;
      for (let i = 0; i < iterations; i++) {
        // The first kill lands in the window on purpose (right after the ifb was made), so the
        // test never depends on a random kill finding it; the rest are random.
        await killedMidway(netns.name, "v0", i === 0 ? "after-ifb" : Math.floor(Math.random() * 250));
        const names = (await rtnl.links.list()).map((l) => l.name);
        if (names.some((n) => /^vq[0-9a-z]+\.[0-9a-z]+\.[0-9a-z]+$/.test(n) && n !== "vq1.0.1"))
          leftovers.provisional++;
        if (names.includes(`qosin${v0}`)) leftovers.marked++;
        // A later applyQos on the link works, whatever the child left.
        await applyQos("v0", { rate: "5mbit", ingress: { rate: "3mbit" } }, opts);
        expect(await getQos("v0", opts)).toMatchObject({
          rate: 625_000,
          ingress: { rate: 375_000, ifb: `qosin${v0}` },
        });
        // The reaper takes the dead child's provisional ifbs, never ours (alive) or foreign ones.
        const report = await reapQosLeftovers(opts);
        for (const n of report.ifbs) expect(n).toMatch(/^vq[0-9a-z]+\.[0-9a-z]+\.[0-9a-z]+$/);
        const after = (await rtnl.links.list()).map((l) => l.name).sort();
        expect(after).toEqual(["fx0", "fx1", "lo", `qosin${v0}`, "v0", "v1", "vq1.0.1"].sort());
        await removeQos("v0", opts);
      }
      // The loop really hit the crash windows (what it found after each kill; the first kill
      // always does).
      console.log(`after ${iterations} kills: ${JSON.stringify(leftovers)}`);
      expect(leftovers.provisional + leftovers.marked).toBeGreaterThan(0);

      // A dead process's complete shaper (ifb marked, redirect in place) is reaped whole.
      const p = spawn(process.execPath, [
        "--input-type=module",
        "-e",
        `import { applyQos } from ${JSON.stringify(dist)};
         await applyQos("v0", { ingress: { rate: "2mbit" } }, { netns: ${JSON.stringify(netns.name)} });`,
      ]);
      await new Promise((r) => p.once("exit", r));
      expect((await getQos("v0", opts)).ingress).toMatchObject({ rate: 250_000 });
      const report = await reapQosLeftovers(opts);
      expect(report.ifbs).toEqual([`qosin${v0}`]);
      expect(report.filters).toEqual([`${v0} ffff: 10`]);
      expect((await getQos("v0", opts)).ingressFilters).toEqual([]);
      const final = (await rtnl.links.list()).map((l) => l.name).sort();
      expect(final).toEqual([...foreign, "lo", "v0", "v1"].sort());
    } finally {
      rtnl.close();
    }
  });
});
