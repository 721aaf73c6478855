// The microVM sandboxes example (examples/microvm-sandboxes.mjs) run for real: 50 network
// namespaces, each with one TAP in masquerade mode and a tbf egress limit from @vmnet/tc-qos, set
// up and torn down from this one process. While they are up, every sandbox has its TAP, bridge,
// NAT table and limit, and one VM (a relay on its TAP fd) gets the private lease from udhcpc and
// reaches the node through NAT; afterwards every sandbox is exactly as CNI left it. Prints the
// per-sandbox setup and teardown times.
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { getQos } from "@vmnet/tc-qos";
import { execa } from "execa";
import { expect, test } from "vitest";
import type { ContainerSideNetwork } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { startVmSide } from "./support/vm-side.js";
import { netnsState } from "./support/vm-side-pod.js";

const EXAMPLE = fileURLToPath(new URL("../examples/microvm-sandboxes.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const N = Number(process.env.MICROVM_N ?? 50);

interface Sandbox {
  netns: string;
  address: string;
  csn?: ContainerSideNetwork;
}

/** A TestNetns view of a named netns the example made (for the shared state reader). */
const view = (name: string): TestNetns => ({
  name,
  path: `/run/netns/${name}`,
  exec: (file, args = [], options) => execa("ip", ["netns", "exec", name, file, ...args], options ?? {}),
  ipJson: async (args) => JSON.parse(String((await execa("ip", ["-n", name, "-j", ...args])).stdout) || "[]"),
  remove: async () => undefined,
});

describePrivileged("microVM sandboxes example", () => {
  test(`${N} sandboxes: one netns + one TAP each, masquerade + egress limit, set up and torn down from one process`, async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the package first (pnpm build)`);
    const { runSandboxes } = (await import(EXAMPLE)) as {
      runSandboxes: (
        n: number,
        o: {
          prefix: string;
          stateDir: string;
          onCreated: (s: Sandbox[]) => Promise<void>;
          onReady: (s: Sandbox[]) => Promise<void>;
          onTornDown: (s: Sandbox[]) => Promise<void>;
        },
      ) => Promise<{ setup: Record<string, number>; teardown: Record<string, number> }>;
    };
    const stateDir = await mkdtemp(join(tmpdir(), "csn-mvm-"));
    const before = new Map<string, Awaited<ReturnType<typeof netnsState>>>();
    const fds = () => readdirSync("/proc/self/fd").length;
    let fdsBefore = 0;
    let tornDown = 0;
    try {
      const r = await runSandboxes(N, {
        prefix: `mvm${process.env.VITEST_POOL_ID ?? "1"}`,
        stateDir,
        onCreated: async (sandboxes) => {
          for (const s of sandboxes) before.set(s.netns, await netnsState(view(s.netns)));
        },
        onTornDown: async (sandboxes) => {
          for (const s of sandboxes)
            expect(await netnsState(view(s.netns)), s.netns).toEqual(before.get(s.netns));
          tornDown = sandboxes.length;
        },
        onReady: async (sandboxes) => {
          expect(sandboxes).toHaveLength(N);
          for (const s of sandboxes) {
            const state = await netnsState(view(s.netns));
            expect(state.links.map((l) => l.name).sort()).toEqual(["br0", "eth0", "lo", "tap0"]);
            expect(state.nft).toContain('oifname "eth0" ip saddr 10.0.2.0/24 masquerade');
            const qos = await getQos("tap0", { netns: s.netns });
            expect(qos.rate, s.netns).toBe(12_500_000); // 100 Mbit/s in bytes per second
            expect(s.csn?.dhcp?.stats().bindings).toHaveLength(1);
          }
          // One microVM for real: the private lease, then the node through NAT.
          const first = sandboxes[0] as Sandbox;
          const nic = first.csn?.interfaces[0];
          const side = await startVmSide(nic?.tap.fds[0] as number, nic?.hardwareAddr as string);
          try {
            const run = await (await startUdhcpc(side.vm, side.iface)).done();
            expect(run.exitCode, run.stderr).toBe(0);
            const got = await installed(side.vm, side.iface);
            expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.0.2.2/24"]);
            const ping = await side.vm.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", "10.123.0.1"], {
              reject: false,
            });
            expect(ping.exitCode, String(ping.stdout)).toBe(0);
          } finally {
            await side.stop();
          }
          fdsBefore = fds();
        },
      });
      const f = (s: Record<string, number>) =>
        `median ${s.median?.toFixed(1)} ms, p95 ${s.p95?.toFixed(1)} ms, max ${s.max?.toFixed(1)} ms`;
      console.log(
        `${N} microVM sandboxes: setup per sandbox ${f(r.setup)}; teardown per sandbox ${f(r.teardown)}`,
      );
      expect(r.setup.median).toBeGreaterThan(0);
      // Teardown closed every TAP fd and socket the sandboxes held.
      expect(fds()).toBeLessThan(fdsBefore);
      expect(readdirSync(join(stateDir, "container-side")).filter((x) => x.endsWith(".json"))).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
    expect(before.size).toBe(N);
    expect(tornDown).toBe(N);
  }, 600_000);
});
