// Crash clean-up: a child process makes taps, a mirror and a bridge, then dies by SIGKILL. A new
// Bridges of the same owner reaps exactly those leftovers and never touches foreign objects or
// objects of a live process.

import { existsSync } from "node:fs";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { destroyTap } from "../src/index.js";
import { linkNames, type SwitchEnv, startSwitch, vsctl } from "./support/bridges-env.js";

const dist = new URL("../dist/index.js", import.meta.url).pathname;

describePrivileged("reaping a crashed process's leftovers", () => {
  let env: SwitchEnv;
  beforeAll(async () => {
    // The child runs the built package (turbo's test task builds first; `pnpm build` by hand).
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run pnpm build first`);
    env = await startSwitch();
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
  });

  test("a new Bridges reaps what a killed process left, and nothing else", async () => {
    // A foreign tap and a live process's tap on the same switch.
    await env.ns.exec("ip", ["tuntap", "add", "foreign0", "mode", "tap"]);
    await vsctl(env, ["add-br", "brK", "--", "set", "Bridge", "brK", "datapath_type=netdev"]);
    await vsctl(env, ["add-port", "brK", "foreign0"]);
    const live = await (await env.bridges.get("brK")).createTap({ vlan: 1 });
    const script = `
      const { Bridges } = await import(${JSON.stringify(dist)});
      const b = await Bridges.open({ db: ${JSON.stringify(env.ovs.remote)}, netns: ${JSON.stringify(env.ns.name)}, datapathType: "netdev", owner: ${JSON.stringify(env.owner)}, tapFormat: "dead%d" });
      const br = await b.get("brDead");
      const taps = await br.createTaps([{ vlan: 5 }, { vlan: 6 }]);
      const k = await b.get("brK");
      await k.createTap({ vlan: 2 });
      const out = await br.createHostTap({});
      await br.createMirror({ output: out });
      console.log(JSON.stringify(taps));
      process.kill(process.pid, "SIGKILL");
    `;
    const child = await execa("node", ["--input-type=module", "-e", script], { reject: false });
    expect(child.signal).toBe("SIGKILL");
    const before = await linkNames(env.ns.name);
    expect(before).toEqual(expect.arrayContaining(["dead0", "dead1", "dead2", "dead3"]));

    const report = await env.bridges.reapLeftovers();
    expect(report.ports.sort()).toEqual(["dead0", "dead1", "dead2", "dead3"]);
    expect(report.mirrors).toHaveLength(1);
    expect(report.bridges).toEqual(["brDead"]);
    const after = await linkNames(env.ns.name);
    for (const n of ["dead0", "dead1", "dead2", "dead3"]) expect(after).not.toContain(n);
    expect(after).toContain("foreign0");
    expect(after).toContain(live);
    expect((await vsctl(env, ["list-ports", "brK"])).split("\n").sort()).toEqual(["foreign0", live].sort());
    // A second reap finds nothing.
    expect(await env.bridges.reapLeftovers()).toEqual({ ports: [], links: [], mirrors: [], bridges: [] });
    // Unmanaged destroyTap removes a vmnet tap without a Bridges of one's own; refuses a foreign one.
    await destroyTap(live, { db: env.ovs.remote, netns: env.ns.name, owner: env.owner });
    expect(await linkNames(env.ns.name)).not.toContain(live);
    await expect(
      destroyTap("foreign0", { db: env.ovs.remote, netns: env.ns.name, owner: env.owner }),
    ).rejects.toThrow(/not created by vmnet/);
    await vsctl(env, ["del-br", "brK"]);
    await env.ns.exec("ip", ["link", "del", "foreign0"]);
  }, 60_000);
});
