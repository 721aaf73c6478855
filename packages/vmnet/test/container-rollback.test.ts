// Setup is a plan: a fault injected before each step k leaves the pod's netns exactly as it was
// (links, MACs, MTUs, addresses, routes, qdiscs, nftables, forwarding/accept_ra sysctls compared
// field by field), and the
// journal is gone. Bad input gets one VmnetInputError naming the field, with nothing changed.
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { StepError, VmnetInputError } from "../src/errors.js";
import { setupContainerSideNetwork } from "../src/index.js";
import { makePod, netnsState, type Pod } from "./support/vm-side-pod.js";

let p: Pod;
let dir: string;
beforeAll(async () => {
  p = await makePod("bridge-dual");
  dir = await mkdtemp(join(tmpdir(), "csn-rb-"));
});
afterAll(async () => {
  await p?.remove();
  await rm(dir, { recursive: true, force: true });
});

describePrivileged("ContainerSideNetwork rollback and input checks", () => {
  for (const mode of ["bridge", "tcfilter", "masquerade"] as const) {
    test(`${mode} mode: a fault at every step leaves the netns as it was`, async () => {
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
      expect(await netnsState(p.netns)).toEqual(before);
      expect(names.length).toBeGreaterThan(6);
      for (let k = 0; k < names.length; k++) {
        const error = await setupContainerSideNetwork({
          netns: p.netns.name,
          result: p.result,
          mode,
          stateDir: dir,
          beforeStep: (_s, i) => {
            if (i === k) throw new Error(`injected at ${k}`);
          },
        }).catch((e: unknown) => e);
        expect(error, `step ${k} (${names[k]})`).toBeInstanceOf(StepError);
        const stepError = error as StepError;
        expect(stepError.step).toBe(names[k]);
        expect(stepError.rolledBack, stepError.message).toBe(true);
        expect(await netnsState(p.netns), `after a fault at step ${k} (${names[k]})`).toEqual(before);
        expect(readdirSync(join(dir, "container-side")).filter((f) => f.endsWith(".json"))).toEqual([]);
      }
    });
  }

  test("200 setups and teardowns (DHCP on, a TAP name of our choosing) leak no fd and little memory", async () => {
    const before = await netnsState(p.netns);
    const cycle = async () => {
      const csn = await setupContainerSideNetwork({
        netns: p.netns.name,
        result: p.result,
        mode: "bridge",
        stateDir: dir,
        taps: ["vmtap-a"],
      });
      expect(csn.interfaces[0]?.tap.name).toBe("vmtap-a");
      await csn.teardown();
    };
    for (let i = 0; i < 5; i++) await cycle(); // warm-up: module state, the addon's first sockets
    const fds = () => readdirSync("/proc/self/fd").length;
    const fdsBefore = fds();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) await cycle();
    expect(fds()).toBe(fdsBefore);
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    console.log(`200 cycles: fds ${fdsBefore} -> ${fds()}, RSS +${grownMiB.toFixed(1)} MiB`);
    expect(grownMiB).toBeLessThan(40);
    expect(await netnsState(p.netns)).toEqual(before);
  });

  test("bad input: one VmnetInputError naming the field, netns unchanged", async () => {
    const before = await netnsState(p.netns);
    const cases: [Record<string, unknown>, string][] = [
      [{ netns: "csn-no-such-netns", mode: "bridge" }, "netns"],
      [{ netns: p.netns.name, mode: "bridged" }, "mode"],
      [{ netns: p.netns.name, mode: "bridge", queues: 0 }, "queues"],
      [{ netns: p.netns.name, mode: "bridge", mtu: 65536 }, "mtu"],
      [{ netns: p.netns.name, mode: "bridge", mtu: 9000, result: p.result }, "mtu"],
      [
        {
          netns: p.netns.name,
          mode: "bridge",
          result: {
            ...p.result,
            interfaces: [{ name: "eth9", sandbox: p.netns.path }],
            ips: [{ address: "10.9.9.9/24", interface: 0 }],
          },
        },
        "result.interfaces[0].name",
      ],
      [{ netns: p.netns.name, mode: "bridge", result: { cniVersion: "1.0.0", ips: [] } }, "result.ips"],
      [
        {
          netns: p.netns.name,
          mode: "bridge",
          result: { cniVersion: "1.0.0", ips: [{ address: "10.1.1.300/24" }] },
        },
        "result.ips[0].address",
      ],
      [{ netns: p.netns.name, mode: "bridge", bogus: 1 }, "options"],
      [{ netns: p.netns.name, mode: "bridge", taps: ["a-tap-name-of-16"] }, "taps.0"],
      [{ netns: p.netns.name, mode: "bridge", result: p.result, taps: ["eth0"] }, "taps.0"],
    ];
    for (const [options, field] of cases) {
      const error = await setupContainerSideNetwork(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options).slice(0, 120)).toBeInstanceOf(VmnetInputError);
      expect((error as VmnetInputError).field).toBe(field);
      expect(await netnsState(p.netns)).toEqual(before);
    }
    expect(
      existsSync(join(dir, "container-side"))
        ? readdirSync(join(dir, "container-side")).filter((f) => f.endsWith(".json"))
        : [],
    ).toEqual([]);
  });
});
