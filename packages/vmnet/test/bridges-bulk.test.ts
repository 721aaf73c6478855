// Bulk tap creation large enough to be pipelined (kernel chunk, its ports committed, the next
// chunk while ovs-vswitchd applies; one wait at the end): every port applied when it returns, a
// fault at every step leaves nothing, and destroy removes all of it.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { StepError } from "../src/errors.js";
import { linkNames, type SwitchEnv, startSwitch, vsctl } from "./support/bridges-env.js";

const N = 150;

describePrivileged("Bridges: pipelined bulk creation", () => {
  let env: SwitchEnv;
  beforeAll(async () => {
    env = await startSwitch();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test(`${N} taps: a fault at every step of the pipelined plan leaves no tap and no port`, async () => {
    const br = await env.bridges.get("brP");
    const specs = Array.from({ length: N }, (_, i) => ({ name: `pt${i}`, vlan: 1 + (i % 7) }));
    const names: string[] = [];
    const progress: number[] = [];
    const made = await br.createTaps(specs, {
      beforeStep: (s) => {
        names.push(s.name);
      },
      onProgress: (done, total) => {
        expect(total).toBe(N * 2);
        progress.push(done);
      },
    });
    expect(made).toHaveLength(N);
    // Pipelined: several kernel/port chunks and a last wait for ovs-vswitchd.
    expect(names.length).toBeGreaterThan(3);
    expect(names.at(-1)).toMatch(/^wait until ovs-vswitchd has applied/);
    expect(progress.at(-1)).toBe(N * 2);
    // Applied when createTaps returns: every interface has its OpenFlow port number.
    const ofports = (await vsctl(env, ["--columns=ofport", "--bare", "list", "Interface"]))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    expect(ofports.filter((p) => p > 0)).toHaveLength(N + 1); // the bridge's own port too
    expect(await vsctl(env, ["get", "Port", "pt8", "tag"])).toBe("2");
    expect(await br.destroyTaps(made)).toHaveLength(N);
    expect(await vsctl(env, ["list-ports", "brP"])).toBe("");

    for (let k = 0; k < names.length; k++) {
      const err = await br
        .createTaps(specs, {
          beforeStep: (_s, i) => {
            if (i === k) throw new Error(`injected at ${k}`);
          },
        })
        .catch((e: unknown) => e);
      expect(err, `fault at ${k}`).toBeInstanceOf(StepError);
      expect((err as StepError).index).toBe(k);
      expect((err as StepError).rolledBack, (err as StepError).message).toBe(true);
      expect(await vsctl(env, ["list-ports", "brP"]), `ports after a fault at ${k}`).toBe("");
      const left = (await linkNames(env.ns.name)).filter((n) => n.startsWith("pt"));
      expect(left, `links after a fault at ${k}`).toEqual([]);
    }
    await env.bridges.destroyBridge("brP");
  }, 300_000);

  test("the lite port read sees ports named apart from their interfaces, and foreign ports stay", async () => {
    const br = await env.bridges.get("brQ");
    // A foreign port (no owner mark) on the same bridge: destroy must refuse it, names must skip it.
    try {
      await env.ns.exec("ip", ["tuntap", "add", "name", "mega_tap0", "mode", "tap"]);
      await vsctl(env, ["add-port", "brQ", "mega_tap0"]);
      const [name] = await br.createTaps([{}]);
      expect(name).toBe("mega_tap1");
      await expect(br.destroyTaps(["mega_tap0"])).rejects.toThrow(/not created by vmnet/);
      expect(await br.destroyTaps([name as string])).toEqual([name]);
      expect(await vsctl(env, ["list-ports", "brQ"])).toBe("mega_tap0");
    } finally {
      await vsctl(env, ["del-port", "brQ", "mega_tap0"]);
      await env.ns.exec("ip", ["link", "del", "mega_tap0"]);
      await env.bridges.destroyBridge("brQ");
    }
  });
  test("taps made together share a link group: all of them go in one group delete, a subset or a group holding a foreign link is never deleted as a group", async () => {
    const br = await env.bridges.get("brG");
    const groupOf = async (name: string) =>
      Number(String((await env.ns.exec("cat", [`/sys/class/net/${name}/netdev_group`])).stdout).trim());
    try {
      const made = await br.createTaps([{ name: "gt0" }, { name: "gt1" }, { name: "gt2" }, { name: "gt3" }]);
      const group = await groupOf("gt0");
      expect(group).toBeGreaterThanOrEqual(0x7e000000);
      for (const n of made) expect(await groupOf(n), n).toBe(group);
      // A subset: only those go, the rest of the group stays.
      expect(await br.destroyTaps(["gt0"])).toEqual(["gt0"]);
      expect((await linkNames(env.ns.name)).filter((n) => n.startsWith("gt")).sort()).toEqual([
        "gt1",
        "gt2",
        "gt3",
      ]);
      // A foreign link (no mark) put into our group: deleting our taps must not take it along.
      await env.ns.exec("ip", ["tuntap", "add", "name", "gforeign", "mode", "tap"]);
      await env.ns.exec("ip", ["link", "set", "gforeign", "group", String(group)]);
      expect((await br.destroyTaps(["gt1", "gt2", "gt3"])).sort()).toEqual(["gt1", "gt2", "gt3"]);
      expect((await linkNames(env.ns.name)).filter((n) => n.startsWith("g"))).toEqual(["gforeign"]);
    } finally {
      await env.ns.exec("ip", ["link", "del", "gforeign"], { reject: false });
      await env.bridges.destroyBridge("brG");
    }
  });
});
