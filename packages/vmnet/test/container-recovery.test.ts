// Crash recovery: a process sets up a pod's network and is killed (SIGKILL) at every step of the
// setup, or after it completed. recoverContainerSideNetwork, in this process, re-opens the TAPs
// and serves DHCP again (a real udhcpc gets the lease through the re-opened TAP), or tears
// everything down, restoring the netns field by field; it never touches what it did not create.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { VmnetError } from "../src/errors.js";
import { recoverContainerSideNetwork, setupContainerSideNetwork, TeardownError } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { startVmSide } from "./support/vm-side.js";
import { makePod, netnsState, type Pod } from "./support/vm-side-pod.js";

const CHILD = fileURLToPath(new URL("./support/vm-side-crash-child.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));

let p: Pod;
let dir: string;
beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the package first (pnpm build)`);
  p = await makePod("bridge");
  dir = await mkdtemp(join(tmpdir(), "csn-crash-"));
});
afterAll(async () => {
  await p?.remove();
  await rm(dir, { recursive: true, force: true });
});

/** Runs setup in a child that is SIGKILLed before step `killAt` (-1: after setup completed). */
async function crash(mode: string, killAt: number): Promise<void> {
  const error = await promisify(execFile)(process.execPath, [
    CHILD,
    p.netns.name,
    JSON.stringify(p.result),
    mode,
    dir,
    String(killAt),
  ]).catch((e: { signal?: string; stderr?: string }) => e);
  expect((error as { signal?: string }).signal, (error as { stderr?: string }).stderr).toBe("SIGKILL");
}

describePrivileged("ContainerSideNetwork crash recovery", () => {
  for (const mode of ["bridge", "tcfilter", "masquerade"] as const) {
    test(`${mode} mode: after a crash, recovery re-opens the TAP and DHCP serves the VM again; then teardown restores`, async () => {
      const before = await netnsState(p.netns);
      await crash(mode, -1);
      const left = await netnsState(p.netns);
      expect(left.links.map((l) => l.name)).toContain("tap0");
      const csn = await recoverContainerSideNetwork(p.netns.name, { stateDir: dir });
      if (!csn) throw new Error("nothing recovered");
      try {
        expect(csn.mode).toBe(mode);
        expect(csn.interfaces[0]?.tap.fds.length).toBe(1);
        const side = await startVmSide(
          csn.interfaces[0]?.tap.fds[0] as number,
          csn.interfaces[0]?.hardwareAddr as string,
        );
        try {
          const run = await (await startUdhcpc(side.vm, side.iface)).done();
          expect(run.exitCode, run.stderr).toBe(0);
          const got = await installed(side.vm, side.iface);
          // Masquerade mode serves the private address; the others the CNI's.
          const served = mode === "masquerade" ? "10.0.2.2/24" : p.result.ips[0]?.address;
          expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([served]);
          const ping = await side.vm.exec("ping", ["-c", "1", "-W", "2", p.gateway], { reject: false });
          expect(ping.exitCode).toBe(0);
        } finally {
          await side.stop();
        }
      } finally {
        await csn.teardown();
      }
      expect(await netnsState(p.netns)).toEqual(before);
    });

    test(`${mode} mode: SIGKILL at every step of setup, then recovery restores the netns`, async () => {
      const before = await netnsState(p.netns);
      const names: string[] = [];
      const csn = await setupContainerSideNetwork({
        netns: p.netns.name,
        result: p.result,
        mode,
        stateDir: dir,
        beforeStep: (s) => {
          names.push(s.name);
        },
      });
      await csn.teardown();
      for (let k = 0; k < names.length; k++) {
        await crash(mode, k);
        if (k === 0) {
          // Killed before the journal was written: nothing was changed, nothing to recover.
          await expect(recoverContainerSideNetwork(p.netns.name, { stateDir: dir })).rejects.toBeInstanceOf(
            VmnetError,
          );
        } else {
          // An incomplete setup is torn down, whatever was asked.
          expect(
            await recoverContainerSideNetwork(p.netns.name, { stateDir: dir }),
            `step ${k}`,
          ).toBeUndefined();
        }
        expect(await netnsState(p.netns), `after a crash before step ${k} (${names[k]})`).toEqual(before);
      }
    });
  }

  test("teardown on request after a crash; a foreign object in our place is left alone and reported", async () => {
    const before = await netnsState(p.netns);
    await crash("bridge", -1);
    // Someone replaces our nftables table with theirs (same name, no mark).
    await p.netns.exec("nft", ["delete", "table", "bridge", "vmnet_csn"]);
    await p.netns.exec("nft", ["add", "table", "bridge", "vmnet_csn"]);
    const error = await recoverContainerSideNetwork(p.netns.name, { stateDir: dir, teardown: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TeardownError);
    expect((error as TeardownError).failures.map((f) => f.part)).toEqual(["nftables"]);
    const after = await netnsState(p.netns);
    expect(after.nft).toContain("table bridge vmnet_csn");
    // Everything else is back as it was.
    expect({ ...after, nft: "" }).toEqual({ ...before, nft: "" });
    // Once the foreign table is gone, teardown completes.
    await p.netns.exec("nft", ["delete", "table", "bridge", "vmnet_csn"]);
    expect(
      await recoverContainerSideNetwork(p.netns.name, { stateDir: dir, teardown: true }),
    ).toBeUndefined();
    expect(await netnsState(p.netns)).toEqual(before);
    await expect(recoverContainerSideNetwork(p.netns.name, { stateDir: dir })).rejects.toBeInstanceOf(
      VmnetError,
    );
  });
});
