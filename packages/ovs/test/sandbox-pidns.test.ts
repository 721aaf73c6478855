// An owner whose whole pid namespace died (e.g. a `vmnet-isolate` run or a container killed):
// its daemons die with that namespace, its directory and the TAP devices stay. Seen from the
// parent namespace, the marker's pid means nothing, so the sandbox used to be left forever; now
// findOrphans sees that nothing runs in that namespace any more and nobody serves its sockets.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { expect, test } from "vitest";
import { OvsSandbox } from "../src/index.js";
import { MARKER_FILE } from "../src/sandbox/marker.js";
import { processesInPidns } from "../src/sandbox/processes.js";

const pool = process.env.VITEST_POOL_ID ?? "0";

describePrivileged("OvsSandbox orphaned with its whole pid namespace", () => {
  test("the owner's pid namespace dies: findOrphans finds the sandbox only then, reapOrphans removes its devices and directory", async () => {
    const dist = new URL("../dist/index.js", import.meta.url);
    expect(existsSync(dist), "the owner process imports the build: run pnpm build first").toBe(true);
    const ns = await createNetns(`pn${pool}`);
    const root = await mkdtemp(join(tmpdir(), "vmnet-pidns-"));
    try {
      // The owner is pid 1 of a new pid namespace; SIGKILL to unshare kills it (--kill-child),
      // and with it every process of that namespace, the sandbox's daemons included.
      const owner = execa(
        "unshare",
        [
          "--pid",
          "--fork",
          "--mount",
          "--mount-proc",
          "--kill-child",
          "node",
          new URL("./fixtures/sandbox-owner.mjs", import.meta.url).pathname,
          ns.name,
          `pnbr${pool}`,
          `pnp${pool}`,
        ],
        { reject: false, env: { TMPDIR: root } },
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
      expect(made.dir.startsWith(`${root}/vmnet-ovs-`)).toBe(true);
      const marker = JSON.parse(await readFile(join(made.dir, MARKER_FILE), "utf8")) as {
        pid: number;
        pidnsInode: number;
      };
      expect(marker.pid).toBe(1);
      // While it lives, its namespace is visible from here and its owner is found in it.
      const seen = await processesInPidns(marker.pidnsInode);
      expect(seen.map((p) => p.innerPid).sort()).toEqual(
        [1, ...Object.values(made.pids)].sort((a, b) => a - b),
      );
      expect(await OvsSandbox.findOrphans({ roots: [root], startupGraceMs: 0 })).toEqual([]);

      owner.kill("SIGKILL");
      await owner;
      const deadline = Date.now() + 10_000;
      while ((await processesInPidns(marker.pidnsInode)).length > 0) {
        expect(Date.now() < deadline, "the pid namespace's processes did not exit").toBe(true);
        await sleep(20);
      }
      // What the dead namespace left: the directory and the TAP devices in the netns.
      expect(existsSync(made.dir)).toBe(true);
      const names = async () => (await ns.ipJson(["link", "show"])).map((l) => String(l.ifname)).sort();
      expect(await names()).toEqual(["lo", "ovs-netdev", `pnbr${pool}`, `pnp${pool}`].sort());

      const orphans = await OvsSandbox.findOrphans({ roots: [root], startupGraceMs: 0 });
      expect(orphans.map((o) => o.dir)).toEqual([made.dir]);
      expect(orphans[0]?.why).toMatch(/pid namespace is gone/);
      expect(orphans[0]?.runningDaemons).toEqual([]);
      // With the default start-up grace, a marker this young is left alone.
      expect(await OvsSandbox.findOrphans({ roots: [root] })).toEqual([]);

      const reaped = await OvsSandbox.reapOrphans({ roots: [root], startupGraceMs: 0 });
      expect(reaped.map((r) => r.dir)).toEqual([made.dir]);
      expect(reaped[0]?.deletedDevices.sort()).toEqual(["ovs-netdev", `pnbr${pool}`, `pnp${pool}`].sort());
      expect(existsSync(made.dir)).toBe(false);
      expect(await names()).toEqual(["lo"]);
    } finally {
      await rm(root, { recursive: true, force: true });
      await ns.remove();
    }
  });

  test("a sandbox whose pid namespace we cannot see but whose daemons still serve it is never touched", async () => {
    const root = await mkdtemp(join(tmpdir(), "vmnet-pidns-"));
    const live = await OvsSandbox.start({ dir: join(root, "live") });
    try {
      // Its marker claims a pid namespace nobody here can see (as a sibling's would).
      const path = join(live.dir, MARKER_FILE);
      const marker = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
      await writeFile(path, JSON.stringify({ ...marker, pid: 999_999, pidnsInode: 4_026_000_001 }));
      expect(await OvsSandbox.findOrphans({ roots: [], dirs: [live.dir], startupGraceMs: 0 })).toEqual([]);
      expect(await OvsSandbox.reapOrphans({ roots: [], dirs: [live.dir], startupGraceMs: 0 })).toEqual([]);
      expect(await live.client.echo("still here")).toEqual(["still here"]);
      expect(existsSync(path)).toBe(true);
    } finally {
      await live.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
