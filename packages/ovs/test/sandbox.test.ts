// The sandbox's life cycle: the daemons it starts run until stop(), which ends exactly them and
// removes its files; a directory the caller gave is kept (only the sandbox's files go).
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { expect, test } from "vitest";
import { connectSystem, OvsdbConnectionError, OvsSandbox } from "../src/index.js";

async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/^ [ZX]/.test(stat.slice(stat.lastIndexOf(")") + 1));
}

describePrivileged("OvsSandbox", () => {
  test("start gives a connected client; stop ends its two daemons and removes its temp dir", async () => {
    const sandbox = await OvsSandbox.start();
    const { "ovsdb-server": server, "ovs-vswitchd": vswitchd } = sandbox.pids;
    expect(await running(server)).toBe(true);
    expect(await running(vswitchd)).toBe(true);
    expect(await sandbox.client.echo("x")).toEqual(["x"]);
    expect(
      (
        await sandbox.client.transact([
          { op: "select", table: "Open_vSwitch", where: [], columns: ["ovs_version"] },
        ])
      )[0]?.rows,
    ).toHaveLength(1);
    await sandbox.stop();
    expect(await running(server)).toBe(false);
    expect(await running(vswitchd)).toBe(false);
    expect(existsSync(sandbox.dir)).toBe(false);
    await sandbox.stop();
  });

  test("in a netns given by path, in a caller's directory that is kept", async () => {
    const ns = await createNetns("sb");
    const dir = await mkdtemp(join(tmpdir(), "vmnet-sbdir-"));
    try {
      const sandbox = await OvsSandbox.start({ dir, netns: ns.path });
      await sandbox.vswitch.addBridge({ name: "sbx" });
      // The bridge's device lives in the namespace, not here.
      expect((await ns.ipJson(["link", "show", "sbx"]))[0]?.ifname).toBe("sbx");
      await sandbox.stop();
      expect(existsSync(dir)).toBe(true);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await ns.remove();
    }
  });

  test("bad options are refused before anything starts", async () => {
    await expect(OvsSandbox.start({ dir: "" })).rejects.toThrow(/sandbox.dir is invalid/);
    await expect(OvsSandbox.start({ netns: "no-such-netns" })).rejects.toThrow(/ovsdb-tool|ovsdb-server/);
  });

  test("connectSystem without a system OVS is a clear connection error", async () => {
    const error = await connectSystem({ remote: "unix:/nonexistent/ovs/db.sock" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OvsdbConnectionError);
    expect((error as Error).message).toMatch(/cannot connect to unix:\/nonexistent\/ovs\/db.sock/);
  });
});

describePrivileged("OvsSandbox leaves nothing behind", () => {
  test("stop() deletes the bridges' and ports' TAP devices and ovs-netdev from the namespace", async () => {
    const ns = await createNetns("st");
    try {
      const sandbox = await OvsSandbox.start({ netns: ns.name });
      await sandbox.vswitch.addBridge({ name: "stbr" });
      await sandbox.vswitch.addPort("stbr", { name: "stp1", type: "internal" });
      const names = async () => (await ns.ipJson(["link", "show"])).map((l) => String(l.ifname)).sort();
      expect(await names()).toEqual(["lo", "ovs-netdev", "stbr", "stp1"]);
      // A foreign device with a name the sandbox never made stays.
      await ns.exec("ip", ["tuntap", "add", "mode", "tap", "name", "foreign0"]);
      const report = await sandbox.stop();
      expect(report.deletedDevices.sort()).toEqual(["ovs-netdev", "stbr", "stp1"]);
      expect(await names()).toEqual(["foreign0", "lo"]);
      expect(existsSync(sandbox.dir)).toBe(false);
    } finally {
      await ns.remove();
    }
  });

  test("after kill -9 of its owner: findOrphans finds the sandbox, reapOrphans ends and removes all of it, a live owner's sandbox is untouched", async () => {
    const dist = new URL("../dist/index.js", import.meta.url);
    expect(existsSync(dist), "the owner process imports the build: run pnpm build first").toBe(true);
    const ns = await createNetns("or");
    const live = await OvsSandbox.start();
    const fdsBefore = readdirSync("/proc/self/fd").length;
    try {
      const owner = execa(
        "node",
        [new URL("./fixtures/sandbox-owner.mjs", import.meta.url).pathname, ns.name, "orbr", "orp1"],
        {
          reject: false,
        },
      );
      const line = await new Promise<string>((resolve, reject) => {
        let text = "";
        owner.stdout?.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("\n")) resolve(text.split("\n")[0] as string);
        });
        owner.then((r) => reject(new Error(`owner exited: ${r.stderr}`)), reject);
      });
      const made = JSON.parse(line) as { dir: string; pids: Record<string, number> };
      owner.kill("SIGKILL");
      await owner;
      // What a killed owner leaves: both daemons, the directory and the devices.
      for (const pid of Object.values(made.pids)) expect(await running(pid)).toBe(true);
      expect(existsSync(made.dir)).toBe(true);
      const names = async () => (await ns.ipJson(["link", "show"])).map((l) => String(l.ifname)).sort();
      expect(await names()).toEqual(["lo", "orbr", "orp1", "ovs-netdev"]);

      const orphans = await OvsSandbox.findOrphans();
      expect(orphans.map((o) => o.dir)).toContain(made.dir);
      expect(orphans.map((o) => o.dir)).not.toContain(live.dir);
      const orphan = orphans.find((o) => o.dir === made.dir);
      expect(orphan?.mark).toMatch(/^vmnet:1 owner=orphan-test pid=\d+@\d+ role=ovs-sandbox$/);
      expect(orphan?.runningDaemons.sort()).toEqual(Object.values(made.pids).sort());

      const reaped = await OvsSandbox.reapOrphans();
      const mine = reaped.find((r) => r.dir === made.dir);
      expect(mine?.stoppedPids.sort()).toEqual(Object.values(made.pids).sort());
      expect(mine?.deletedDevices.sort()).toEqual(["orbr", "orp1", "ovs-netdev"]);
      for (const pid of Object.values(made.pids)) expect(await running(pid)).toBe(false);
      expect(existsSync(made.dir)).toBe(false);
      expect(await names()).toEqual(["lo"]);
      // The live owner's sandbox was not touched.
      expect(reaped.map((r) => r.dir)).not.toContain(live.dir);
      expect(await live.client.echo("still here")).toEqual(["still here"]);
      expect(await OvsSandbox.findOrphans({ dirs: [made.dir] })).toEqual([]);
    } finally {
      await live.stop();
      await ns.remove();
    }
    const fdsAfter = readdirSync("/proc/self/fd").length;
    console.log(`kill -9 of a sandbox owner, then reap: fds ${fdsBefore} before, ${fdsAfter} after`);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
  });
});
