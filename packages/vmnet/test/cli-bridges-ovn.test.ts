// The CLI with --ovn: each command is a separate run against one simulated host's OVS and the
// shared OVN northbound database; container taps on two hosts on the same VLAN reach each other,
// `tap list --json` shows the logical port, `tap destroy` removes it from OVN.
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { OvnSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { main } from "../src/cli/main.js";

const pool = process.env.VITEST_POOL_ID ?? "0";

describePrivileged("vmnet CLI --ovn across two simulated hosts", () => {
  let ovn: OvnSandbox;
  const vms: TestNetns[] = [];
  const run = async (host: number, ...args: string[]) => {
    const chassis = ovn.chassis[host];
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        "--db",
        chassis?.ovs.remote as string,
        "--netns",
        chassis?.netns as string,
        "--ovn",
        ovn.nbRemote,
        "--owner",
        "cliovn",
        ...args,
      ],
      (l) => out.push(l),
      (l) => err.push(l),
    );
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  beforeAll(async () => {
    ovn = await OvnSandbox.start({ chassis: 2, prefix: `vc${pool}` });
    vms.push(await createNetns("vcv"), await createNetns("vcv"));
  }, 60_000);
  afterAll(async () => {
    await ovn?.stop();
    for (const vm of vms) await vm.remove();
  }, 60_000);

  test("tap container --vlan on two hosts: one logical switch, L2 across hosts, destroy removes the logical port", async () => {
    const made: string[] = [];
    for (const [host, vm] of vms.entries()) {
      const r = await run(
        host,
        "tap",
        "container",
        vm.name,
        "--vlan",
        "42",
        "--mac",
        `52:54:00:42:00:0${host + 1}`,
        "--address",
        `10.42.0.${host + 1}/24`,
      );
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      made.push(r.out.trim());
    }
    const list = await run(0, "--json", "tap", "list");
    expect(list.code).toBe(0);
    const taps = JSON.parse(list.out) as {
      name: string;
      vlan: number;
      logicalPort: string;
      bridge: string;
    }[];
    expect(taps.map((t) => [t.name, t.bridge, t.vlan, t.logicalPort])).toEqual([
      [made[0], "br-int", 42, `chassis-1.${made[0]}`],
    ]);
    const lsps = [`chassis-1.${made[0]}`, `chassis-2.${made[1]}`];
    expect((await ovn.northbound.listLogicalPorts("vmnet-vlan42")).map((p) => p.name).sort()).toEqual(
      lsps.sort(),
    );
    await ovn.northbound.waitPortsUp(lsps, { timeoutMs: 30_000 });
    let ok = false;
    const deadline = Date.now() + 10_000;
    while (!ok && Date.now() < deadline)
      ok =
        (
          await execa(
            "ip",
            ["netns", "exec", (vms[0] as TestNetns).name, "ping", "-c", "1", "-W", "1", "10.42.0.2"],
            { reject: false },
          )
        ).exitCode === 0;
    expect(ok).toBe(true);

    const destroyed = await run(1, "tap", "destroy", made[1] as string);
    expect(destroyed.code).toBe(0);
    expect((await ovn.northbound.listLogicalPorts("vmnet-vlan42")).map((p) => p.name)).toEqual([
      `chassis-1.${made[0]}`,
    ]);
  }, 60_000);

  test("--ovn against an OVS that is not a chassis says so", async () => {
    const chassis = ovn.chassis[0];
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        "--db",
        chassis?.ovs.remote as string,
        "--netns",
        chassis?.netns as string,
        "--ovn",
        "unix:/nonexistent/nb.sock",
        "tap",
        "list",
      ],
      (l) => out.push(l),
      (l) => err.push(l),
    );
    expect(code).not.toBe(0);
    expect(err.join("\n")).toMatch(/nonexistent\/nb\.sock/);
  });
});
