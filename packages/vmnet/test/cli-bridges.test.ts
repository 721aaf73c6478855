// The CLI against a real private OVS: each call is a separate run (state lives in OVSDB and the
// kernel), human and --json output, exit codes, a capture in the foreground with a limit.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { main } from "../src/cli/main.js";

const bin = new URL("../bin/vmnet.mjs", import.meta.url).pathname;

describePrivileged("vmnet CLI on a private Open vSwitch", () => {
  let ns: TestNetns;
  let ovs: OvsSandbox;
  let dir: string;
  let g: string[];
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [...g, ...args],
      (l) => out.push(l),
      (l) => err.push(l),
    );
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  beforeAll(async () => {
    ns = await createNetns("cli");
    ovs = await OvsSandbox.start({ netns: ns.name });
    dir = await mkdtemp(join(tmpdir(), "vmnet-cli-"));
    g = ["--db", ovs.remote, "--netns", ns.name, "--owner", "clitest"];
  });
  afterAll(async () => {
    await ovs?.stop();
    await ns?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("bridges and taps made by one run are seen by the next; --json for scripts", async () => {
    expect((await run("bridge", "create", "lab")).code).toBe(0);
    const created = await run("--json", "tap", "create", "-b", "lab", "--vlan", "10", "-n", "3");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toEqual(["mega_tap0", "mega_tap1", "mega_tap2"]);
    const list = await run("--json", "tap", "list");
    const taps = JSON.parse(list.out) as { name: string; vlan: number; up: boolean }[];
    expect(taps.map((t) => [t.name, t.vlan, t.up])).toEqual([
      ["mega_tap0", 10, true],
      ["mega_tap1", 10, true],
      ["mega_tap2", 10, true],
    ]);
    const human = await run("bridge", "list");
    expect(human.out).toMatch(/│ lab\s+│ created\s+│ 3\s+│ 10\s+│/);
    expect((await run("tap", "move", "mega_tap2", "-b", "lab", "--vlan", "20")).code).toBe(0);
    expect((await run("--json", "bridge", "list")).out).toContain('"vlans": [\n      10,\n      20\n    ]');
    expect((await run("tap", "destroy", "--defunct", "mega_tap1")).code).toBe(0);
    expect((await run("tap", "reap")).out).toBe("1 defunct tap(s) removed");
    expect((await run("qos", "set", "lab", "mega_tap0", "--rate", "10mbit")).out).toMatch(
      /rate \(bytes\/s\)\s*│ 1250000/,
    );
    expect(JSON.parse((await run("--json", "qos", "show", "lab", "mega_tap0")).out).rate).toBe(1_250_000);
    expect((await run("qos", "clear", "lab", "mega_tap0")).code).toBe(0);
    expect((await run("bridge", "config", "lab", "mac-aging-time", "500")).out).toBe(
      "lab: mac-aging-time=500",
    );
  });

  test("capture runs in the foreground until its limit and cleans up its mirror", async () => {
    const vm = await createNetns("clv");
    const vm2 = await createNetns("clv");
    try {
      for (const [v, ip] of [
        [vm, "10.9.9.1/24"],
        [vm2, "10.9.9.2/24"],
      ] as const)
        expect(
          (await run("tap", "container", v.name, "-b", "lab", "--vlan", "30", "--address", ip)).code,
        ).toBe(0);
      const file = join(dir, "cli.pcap");
      const capture = run("capture", "lab", "-w", file, "-f", "icmp", "-c", "4");
      await new Promise((r) => setTimeout(r, 1500));
      await vm.exec("ping", ["-c", "4", "-i", "0.3", "10.9.9.2"], { reject: false });
      const r = await capture;
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/4 packets/);
      const t = await execa("tshark", ["-r", file, "-T", "fields", "-e", "ip.src"]);
      expect(t.stdout.trim().split("\n")).toHaveLength(4);
      expect(JSON.parse((await run("--json", "bridge", "list")).out)[0].mirrors).toEqual([]);
    } finally {
      await vm.remove();
      await vm2.remove();
    }
  }, 60_000);

  test("errors are one line with meaningful exit codes", async () => {
    const bad = await run("tap", "create", "-b", "lab", "--vlan", "9999");
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("vmnet: tap.vlan: must be 0-4095");
    const missing = await run("tap", "destroy", "nosuch0");
    expect(missing.code).toBe(1);
    expect(missing.err).toBe("vmnet: nosuch0: no such vmnet tap");
    const noOvs = await execa("node", [bin, "--db", "unix:/nonexistent/db.sock", "bridge", "list"], {
      reject: false,
    });
    expect(noOvs.exitCode).toBe(3);
    expect(noOvs.stderr.split("\n")).toHaveLength(1);
    expect(noOvs.stderr).toMatch(/no OVSDB socket at \/nonexistent\/db.sock.*openvswitch-switch/);
    // The real binary, twice: the second run sees the first one's bridge.
    const one = await execa("node", [bin, ...g, "bridge", "create", "fromBin"]);
    expect(one.stdout).toBe("fromBin: ready");
    const two = await execa("node", [bin, ...g, "--json", "bridge", "list"]);
    expect((JSON.parse(two.stdout) as { name: string }[]).map((b) => b.name)).toContain("fromBin");
    expect((await run("bridge", "destroy", "fromBin")).code).toBe(0);
    expect((await run("bridge", "destroy", "lab")).code).toBe(0);
  }, 60_000);
});
