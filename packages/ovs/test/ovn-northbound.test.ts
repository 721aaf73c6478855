// Typed northbound operations against a real OVN control plane (ovsdb-server with the OVN NB
// schema, ovn-northd): what they write is what `ovn-nbctl` reads back, bad input names its field
// and sends nothing, many ports are one transaction, and a failed one leaves nothing.
import { readdirSync } from "node:fs";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  OvnCentral,
  OvsAlreadyExistsError,
  OvsInputError,
  OvsNotFoundError,
  OvsSandbox,
  OvsTimeoutError,
} from "../src/index.js";

describePrivileged("OvnNorthbound", () => {
  let central: OvnCentral;
  const nbctl = async (...args: string[]) =>
    (await execa("ovn-nbctl", [`--db=${central.nbRemote}`, ...args])).stdout.trim();

  beforeAll(async () => {
    central = await OvnCentral.start({ owner: "nbtest" });
  }, 30_000);
  afterAll(async () => {
    await central?.stop();
  });

  test("switches, ports with addresses and port security, localnet ports: read back by ovn-nbctl", async () => {
    const nb = central.northbound;
    const ls = await nb.addLogicalSwitch({
      name: "sw1",
      otherConfig: { mcast_snoop: "true", mac_only: "true" },
    });
    expect(ls.externalIds["vmnet-owner"]).toBe("nbtest");
    await nb.addLogicalPorts("sw1", [
      { name: "p1", addresses: ["0a:00:00:00:00:01 10.0.0.1"], portSecurity: ["0a:00:00:00:00:01 10.0.0.1"] },
      { name: "p2", addresses: ["dynamic"] },
    ]);
    await nb.addLocalnetPort("sw1", { name: "ln-sw1", network: "physnet1", vlan: 100 });
    expect(
      (await nbctl("lsp-list", "sw1"))
        .split("\n")
        .map((l) => l.split(" ")[1])
        .sort(),
    ).toEqual(["(ln-sw1)", "(p1)", "(p2)"]);
    expect(await nbctl("lsp-get-addresses", "p1")).toBe("0a:00:00:00:00:01 10.0.0.1");
    expect(await nbctl("lsp-get-port-security", "p1")).toBe("0a:00:00:00:00:01 10.0.0.1");
    expect(await nbctl("lsp-get-type", "ln-sw1")).toBe("localnet");
    expect(await nbctl("lsp-get-options", "ln-sw1")).toBe("network_name=physnet1");
    expect(await nbctl("lsp-get-tag", "ln-sw1")).toBe("100");
    expect(await nbctl("get", "Logical_Switch", "sw1", "other_config:mcast_snoop")).toBe('"true"');
    const ports = await nb.listLogicalPorts("sw1");
    expect(ports.map((p) => [p.name, p.switchName, p.up]).sort()).toEqual([
      ["ln-sw1", "sw1", false],
      ["p1", "sw1", false],
      ["p2", "sw1", false],
    ]);
    // ovn-northd allocates the dynamic address (a sign that northd runs on our rows).
    const deadline = Date.now() + 5000;
    while (
      !(await nbctl("get", "Logical_Switch_Port", "p2", "dynamic_addresses")).includes(":") &&
      Date.now() < deadline
    );
    expect(await nbctl("get", "Logical_Switch_Port", "p2", "dynamic_addresses")).toMatch(/[0-9a-f:]{17}/);
    const owned = await nb.owned();
    expect(owned.switches.map((s) => s.name)).toEqual(["sw1"]);
    expect(owned.ports.map((p) => p.name).sort()).toEqual(["ln-sw1", "p1", "p2"]);

    expect(await nb.deleteLogicalPorts(["p1", "p2"])).toBe(2);
    expect(await nbctl("lsp-list", "sw1")).toMatch(/\(ln-sw1\)$/);
    expect(await nbctl("--columns=name", "list", "Logical_Switch_Port")).toBe("name                : ln-sw1");
    expect(await nb.deleteLogicalSwitch("sw1")).toBe(true);
    // Its ports went with it (non-root rows nobody refers to).
    expect(await nbctl("list", "Logical_Switch_Port")).toBe("");
  });

  test("1000 ports are one transaction; a duplicate name fails the whole of it", async () => {
    const nb = central.northbound;
    await nb.addLogicalSwitch({ name: "big" });
    const specs = Array.from({ length: 1000 }, (_, i) => ({ name: `big-${i}`, addresses: ["unknown"] }));
    const t0 = performance.now();
    await nb.addLogicalPorts("big", specs);
    console.log(`1000 logical ports in one transaction: ${(performance.now() - t0).toFixed(0)} ms`);
    expect((await nb.listLogicalPorts("big")).length).toBe(1000);
    const error = await nb
      .addLogicalPorts("big", [{ name: "fresh-1" }, { name: "big-7" }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OvsAlreadyExistsError);
    expect(await nb.getLogicalPort("fresh-1")).toBeUndefined();
    await expect(nb.addLogicalPorts("big", [{ name: "x" }, { name: "x" }])).rejects.toThrow(/given twice/);
    await expect(nb.addLogicalPorts("no-such-switch", [{ name: "y" }])).rejects.toBeInstanceOf(
      OvsNotFoundError,
    );
    expect(await nb.getLogicalPort("y")).toBeUndefined();
    await nb.deleteLogicalSwitch("big");
  }, 30_000);

  test("bad input is an OvsInputError naming the field; nothing is written", async () => {
    const nb = central.northbound;
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => nb.addLogicalSwitch({ name: "-x" }), /^logicalSwitch\.name is invalid/],
      [
        () => nb.addLogicalPorts("sw", [{ name: "ok", addresses: ["not a mac"] }]),
        /^ports\.0\.addresses\.0 is invalid/,
      ],
      [
        () => nb.addLogicalPorts("sw", [{ name: "ok", portSecurity: ["0a:00:00:00:00:01 10.0.0.x"] }]),
        /^ports\.0\.portSecurity\.0 is invalid/,
      ],
      [() => nb.addLocalnetPort("sw", { name: "ln", network: "" }), /^localnetPort\.network is invalid/],
      [
        () => nb.addAcl("sw", { direction: "both" as never, priority: 1, match: "ip", action: "drop" }),
        /^acl\.direction is invalid/,
      ],
      [
        () => nb.addAcl("sw", { direction: "to-lport", priority: 40000, match: "ip", action: "drop" }),
        /^acl\.priority is invalid/,
      ],
    ];
    for (const [run, message] of cases) {
      const error = await run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OvsInputError);
      expect((error as Error).message).toMatch(message);
    }
    expect(await nbctl("list", "Logical_Switch")).toBe("");
    expect(await nb.addLogicalSwitch({ name: "dup" })).toBeTruthy();
    await expect(nb.addLogicalSwitch({ name: "dup" })).rejects.toBeInstanceOf(OvsAlreadyExistsError);
    expect((await nb.addLogicalSwitch({ name: "dup", mayExist: true })).name).toBe("dup");
    await nb.deleteLogicalSwitch("dup");
    await expect(nb.deleteLogicalSwitch("dup")).rejects.toBeInstanceOf(OvsNotFoundError);
    expect(await nb.deleteLogicalSwitch("dup", { ifExists: true })).toBe(false);
  });

  test("waitPortsUp times out naming the ports no chassis bound, and leaves no monitor or fd behind", async () => {
    const nb = central.northbound;
    await nb.addLogicalSwitch({ name: "lonely" });
    await nb.addLogicalPorts("lonely", [{ name: "nobody-1" }, { name: "nobody-2" }]);
    const fds = readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 20; i++) {
      const error = await nb
        .waitPortsUp(["nobody-1", "nobody-2"], { timeoutMs: 20 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OvsTimeoutError);
      expect((error as Error).message).toMatch(/2 logical port\(s\) not up after 20 ms: nobody-1, nobody-2/);
    }
    await nb.waitPortsUp(["nobody-1"], { up: false, timeoutMs: 1000 });
    expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fds);
    await nb.deleteLogicalSwitch("lonely");
  });

  test("sync: resolves once ovn-northd has put what was committed into the southbound database", async () => {
    const nb = central.northbound;
    const sb = central.southbound;
    await nb.addLogicalSwitch({ name: "synced" });
    await nb.addLogicalPorts(
      "synced",
      Array.from({ length: 50 }, (_, i) => ({ name: `sync-${i}` })),
    );
    const before = Number(await nbctl("get", "NB_Global", ".", "nb_cfg"));
    const target = await nb.sync({ wait: "sb" });
    expect(target).toBe(before + 1);
    expect(Number(await nbctl("get", "NB_Global", ".", "sb_cfg"))).toBeGreaterThanOrEqual(target);
    // No polling: the bindings are there the moment sync resolves.
    const [bindings] = await sb.transact([
      { op: "select", table: "Port_Binding", where: [], columns: ["logical_port"] },
    ]);
    const names = (bindings?.rows ?? []).map((r) => String(r.logical_port));
    for (let i = 0; i < 50; i++) expect(names).toContain(`sync-${i}`);
    // With no chassis, hv_cfg follows too (ovn-northd reports the minimum over no chassis).
    expect(await nb.sync()).toBe(target + 1);
    await nb.deleteLogicalSwitch("synced");
  });

  test("sync times out while ovn-northd is stopped, then completes once it runs; no fd left", async () => {
    const nb = central.northbound;
    const northd = central.pids["ovn-northd"] as number;
    const fds = readdirSync("/proc/self/fd").length;
    process.kill(northd, "SIGSTOP");
    try {
      for (let i = 0; i < 10; i++) {
        const error = await nb.sync({ wait: "sb", timeoutMs: 30 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OvsTimeoutError);
        expect((error as Error).message).toMatch(/NB_Global\.sb_cfg did not reach nb_cfg \d+ in 30 ms/);
      }
    } finally {
      process.kill(northd, "SIGCONT");
    }
    expect(await nb.sync({ wait: "sb", timeoutMs: 10_000 })).toBeGreaterThan(0);
    expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fds);
    for (const [input, field] of [
      [{ wait: "all" }, "sync.wait"],
      [{ timeoutMs: 0 }, "sync.timeoutMs"],
      [{ timeoutMs: 1.5 }, "sync.timeoutMs"],
      [{ wiat: "sb" }, "sync"],
    ] as const) {
      const error = await nb.sync(input as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OvsInputError);
      expect((error as OvsInputError).field).toBe(field);
    }
  });

  test("the control plane's directory carries an ovn-central marker and is not an orphan while we run", async () => {
    const orphans = await OvsSandbox.findOrphans({ roots: [], dirs: [central.dir], startupGraceMs: 0 });
    expect(orphans).toEqual([]);
    expect(Object.keys(central.pids).sort()).toEqual(["ovn-northd", "ovsdb-server-nb", "ovsdb-server-sb"]);
  });
});
