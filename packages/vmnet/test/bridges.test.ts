import { readdirSync } from "node:fs";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { StepError, VmnetInputError } from "../src/errors.js";
import { TapExistsError } from "../src/index.js";
import { linkAlias, linkNames, ping, type SwitchEnv, startSwitch, vsctl } from "./support/bridges-env.js";

describePrivileged("Bridges on a private Open vSwitch", () => {
  let env: SwitchEnv;
  const vms: TestNetns[] = [];
  beforeAll(async () => {
    env = await startSwitch();
  });
  afterAll(async () => {
    for (const v of vms) await v.remove().catch(() => {});
    await env?.stop();
  });

  test("createTaps: one batch of marked, tagged, up taps that a second process-view sees; destroyTaps removes them", async () => {
    const br = await env.bridges.get("brA");
    const names = await br.createTaps([{ vlan: 10, mac: "02:00:00:00:0a:01" }, { vlan: 20 }, {}]);
    expect(names).toEqual(["mega_tap0", "mega_tap1", "mega_tap2"]);
    // The switch and the kernel are the state: ovs-vsctl and ip see what was made.
    expect(await vsctl(env, ["get", "Port", "mega_tap0", "tag"])).toBe("10");
    expect(await vsctl(env, ["get", "Port", "mega_tap2", "tag"])).toBe("[]");
    expect(
      (await vsctl(env, ["get", "Port", "mega_tap1", "external_ids:vmnet-owner"])).replace(/"/g, ""),
    ).toBe(env.owner);
    const alias = await linkAlias(env.ns.name, "mega_tap0");
    expect(alias).toMatch(new RegExp(`^vmnet:1 owner=${env.owner} pid=${process.pid}@\\d+ role=tap$`));
    // A second Bridges (another connection, as a second process would have) reads the same taps.
    const other = await env.open();
    try {
      const taps = await (await other.existing("brA")).taps();
      expect(taps.map((t) => [t.name, t.vlan, t.mac, t.up, t.defunct])).toEqual([
        ["mega_tap0", 10, "02:00:00:00:0a:01", true, false],
        ["mega_tap1", 20, undefined, true, false],
        ["mega_tap2", undefined, undefined, true, false],
      ]);
      const [info] = await other.info("brA");
      expect(info).toMatchObject({ name: "brA", preExisting: false, vlans: [10, 20], taps: 3 });
    } finally {
      await other.close();
    }
    expect(await br.destroyTaps(names)).toEqual(names);
    expect(await vsctl(env, ["list-ports", "brA"])).toBe("");
    const left = await linkNames(env.ns.name);
    for (const n of names) expect(left).not.toContain(n);
  });

  test("VLAN isolation with real traffic: same VLAN reaches, other VLAN does not", async () => {
    const br = await env.bridges.get("brV");
    const hosts = [
      { vlan: 10, ip: "10.7.0.1" },
      { vlan: 10, ip: "10.7.0.2" },
      { vlan: 20, ip: "10.7.0.3" },
    ];
    const nss: TestNetns[] = [];
    for (const [i, h] of hosts.entries()) {
      const ns = await createNetns("bvm");
      vms.push(ns);
      nss.push(ns);
      await br.createContainerTap({
        netns: ns.name,
        index: 0,
        vlan: h.vlan,
        mac: `02:00:00:00:07:0${i + 1}`,
        address: `${h.ip}/24`,
      });
    }
    const [a, , c] = nss as [TestNetns, TestNetns, TestNetns];
    expect(await ping(a, "10.7.0.2")).toBe(true);
    expect(await ping(a, "10.7.0.3", 2)).toBe(false);
    expect(await ping(c, "10.7.0.1", 2)).toBe(false);
    const taps = await br.taps();
    const tapNames = taps.map((t) => t.name);
    expect(taps.map((t) => [t.kind, t.vlan, t.container])).toEqual(
      nss.map((ns, i) => ["container-tap", hosts[i]?.vlan, ns.name]),
    );
    // The inner end is eth0 with the container's MAC.
    const inner = await a.ipJson(["link", "show", "dev", "eth0"]);
    expect(inner[0].address).toBe("02:00:00:00:07:01");
    await env.bridges.destroyBridge("brV");
    expect(await env.bridges.names()).not.toContain("brV");
    expect((await linkNames(env.ns.name)).filter((n) => tapNames.includes(n))).toEqual([]);
  });

  test("100 concurrent createTap calls on one bridge all succeed with distinct names", async () => {
    const br = await env.bridges.get("brC");
    const names = await Promise.all(
      Array.from({ length: 100 }, (_, i) => br.createTap({ vlan: 1 + (i % 5) })),
    );
    expect(new Set(names).size).toBe(100);
    const ports = (await vsctl(env, ["list-ports", "brC"])).split("\n");
    expect(ports.sort()).toEqual([...names].sort());
    const links = new Set(await linkNames(env.ns.name));
    for (const n of names) expect(links.has(n)).toBe(true);
    await br.destroyTaps(names);
    expect(await vsctl(env, ["list-ports", "brC"])).toBe("");
  }, 60_000);

  test("a fault at every step of createTaps leaves nothing behind", async () => {
    const br = await env.bridges.get("brF");
    for (const at of [0, 1]) {
      const err = await br
        .createTaps([{ name: "ftap0", vlan: 3 }, { name: "ftap1" }], {
          beforeStep: (_s, i) => {
            if (i === at) throw new Error(`injected at ${i}`);
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).index).toBe(at);
      expect(await vsctl(env, ["list-ports", "brF"])).toBe("");
      const links = await linkNames(env.ns.name);
      expect(links).not.toContain("ftap0");
      expect(links).not.toContain("ftap1");
    }
    // The kernel refusing mid-plan (a name taken by a foreign link after the check) rolls back too.
    await env.ns.exec("ip", ["link", "add", "ftap1", "type", "veth", "peer", "name", "ftap1p"]);
    const err = await br.createTaps([{ name: "ftap0" }, { name: "ftap1" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TapExistsError);
    expect((err as TapExistsError).field).toBe("taps.1.name");
    expect(await linkNames(env.ns.name)).not.toContain("ftap0");
    await env.ns.exec("ip", ["link", "del", "ftap1"]);
  });

  test("bad input names the field and changes nothing", async () => {
    const br = await env.bridges.get("brI");
    const cases: [() => Promise<unknown>, string][] = [
      [() => br.createTap({ vlan: 5000 }), "tap.vlan"],
      [() => br.createTaps([{}, { mac: "zz" }]), "taps.1.mac"],
      [() => br.createTap({ name: "a-name-longer-than-15" }), "tap.name"],
      [() => br.addTunnel({ type: "vxlan", remote: "nope" }), "tunnel.remote"],
      [() => br.createContainerTap({ netns: "x", index: -1 }), "containerTap.index"],
      [() => env.bridges.get("bad/name"), "bridge"],
    ];
    for (const [run, field] of cases) {
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VmnetInputError);
      expect((err as VmnetInputError).field).toBe(field);
    }
    expect(await vsctl(env, ["list-ports", "brI"])).toBe("");
  });

  test("destroyTap marks defunct and takes the link down; reapTaps removes all defunct taps at once", async () => {
    const br = await env.bridges.get("brD");
    const names = await br.createTaps([{ vlan: 1 }, { vlan: 1 }, { vlan: 2 }]);
    await br.destroyTap(names[0] as string);
    await br.destroyTap(names[2] as string);
    const taps = await br.taps();
    expect(taps.map((t) => [t.name, t.defunct, t.up])).toEqual([
      [names[0], true, false],
      [names[1], false, true],
      [names[2], true, false],
    ]);
    expect((await env.bridges.reapTaps()).sort()).toEqual([names[0], names[2]].sort());
    expect((await br.taps()).map((t) => t.name)).toEqual([names[1]]);
    await br.destroyTaps([names[1] as string]);
  });

  test("addTap/removeTap move a tap between bridges and VLANs; foreign ports are refused", async () => {
    const a = await env.bridges.get("brM1");
    const b = await env.bridges.get("brM2");
    const [t] = await a.createTaps([{ vlan: 7 }]);
    await b.addTap(t as string, { vlan: 9 });
    expect(await vsctl(env, ["port-to-br", t as string])).toBe("brM2");
    expect(await vsctl(env, ["get", "Port", t as string, "tag"])).toBe("9");
    await b.removeTap(t as string);
    expect(await vsctl(env, ["list-ports", "brM2"])).toBe("");
    await a.addTap(t as string, { vlan: 3 });
    expect(await vsctl(env, ["get", "Port", t as string, "tag"])).toBe("3");
    await vsctl(env, ["add-port", "brM1", "foreign0", "--", "set", "Interface", "foreign0", "type=internal"]);
    await expect(a.destroyTaps(["foreign0"])).rejects.toThrow(/not created by vmnet/);
    await expect(a.removeTap("foreign0")).rejects.toThrow(/not a vmnet tap/);
    // Destroying the bridge vmnet made takes vmnet's taps; an adopted bridge keeps foreign ports.
    await vsctl(env, ["add-br", "brForeign", "--", "set", "Bridge", "brForeign", "datapath_type=netdev"]);
    await vsctl(env, ["add-port", "brForeign", "keep0", "--", "set", "Interface", "keep0", "type=internal"]);
    const f = await env.bridges.get("brForeign");
    expect((await f.info()).preExisting).toBe(true);
    const [ft] = await f.createTaps([{}]);
    await env.bridges.destroyBridge("brForeign");
    expect(await vsctl(env, ["list-ports", "brForeign"])).toBe("keep0");
    expect(await linkNames(env.ns.name)).not.toContain(ft);
    await vsctl(env, ["del-br", "brForeign"]);
    await vsctl(env, ["del-port", "foreign0"]);
    await env.bridges.destroyBridge("brM1");
    await env.bridges.destroyBridge("brM2");
  });
  test("QinQ tap: dot1q-tunnel with outer VLAN and customer VLANs, vlan-limit=2", async () => {
    const br = await env.bridges.get("brQ");
    const name = await br.createQinqTap({ outerVlan: 100, cvlans: [10, 20] });
    expect(await vsctl(env, ["get", "Port", name, "vlan_mode"])).toBe("dot1q-tunnel");
    expect(await vsctl(env, ["get", "Port", name, "tag"])).toBe("100");
    expect(await vsctl(env, ["get", "Port", name, "cvlans"])).toBe("[10, 20]");
    expect(
      (await vsctl(env, ["get", "Open_vSwitch", ".", "other_config:vlan-limit"])).replace(/"/g, ""),
    ).toBe("2");
    expect((await br.taps()).map((t) => [t.name, t.kind, t.vlan])).toEqual([[name, "qinq", 100]]);
    await env.bridges.destroyBridge("brQ");
  });

  test("a fault at every step of host, container and QinQ tap plans leaves nothing behind", async () => {
    const br = await env.bridges.get("brG");
    const vm = await createNetns("bvm");
    vms.push(vm);
    const plans: [
      string,
      number,
      (hooks: { beforeStep: (s: unknown, i: number) => void }) => Promise<string>,
    ][] = [
      ["host", 3, (h) => br.createHostTap({ name: "gh0", vlan: 4, address: "10.66.0.1/24" }, h)],
      [
        "container",
        3,
        (h) => br.createContainerTap({ netns: vm.name, name: "gc0", vlan: 4, address: "10.66.0.2/24" }, h),
      ],
      ["qinq", 3, (h) => br.createQinqTap({ name: "gq0", outerVlan: 5 }, h)],
    ];
    for (const [what, steps, make] of plans) {
      for (let at = 0; at < steps; at++) {
        const err = await make({
          beforeStep: (_s, i) => {
            if (i === at) throw new Error(`injected ${what} ${i}`);
          },
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StepError);
        expect(await vsctl(env, ["list-ports", "brG"])).toBe("");
        const links = await linkNames(env.ns.name);
        for (const n of ["gh0", "gc0", "gq0"]) expect(links).not.toContain(n);
        expect((await vm.ipJson(["link", "show"])).map((l: { ifname: string }) => l.ifname)).toEqual(["lo"]);
      }
    }
    await env.bridges.destroyBridge("brG");
  });

  test("tap lifecycle does not leak: fds and heap flat over many create/destroy rounds", async () => {
    const br = await env.bridges.get("brL");
    const fds = () => readdirSync("/proc/self/fd").length;
    const round = async () =>
      br.destroyTaps(await br.createTaps(Array.from({ length: 10 }, (_, i) => ({ vlan: 1 + i }))));
    for (let i = 0; i < 3; i++) await round();
    global.gc?.();
    const fdBefore = fds();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 30; i++) await round();
    global.gc?.();
    expect(fds()).toBe(fdBefore);
    // 300 taps made and removed: the heap may wobble, not grow with the count.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(30 * 1024 * 1024);
    await env.bridges.destroyBridge("brL");
  }, 120_000);
});
