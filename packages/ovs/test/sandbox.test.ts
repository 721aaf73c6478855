// The sandbox's life cycle: the daemons it starts run until stop(), which ends exactly them and
// removes its files; a directory the caller gave is kept (only the sandbox's files go).
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
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
