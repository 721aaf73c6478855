// applyQos / getQos / removeQos / redirect on real links: the trees they build, what tc sees, what
// getQos reads back (also when tc set it), and that a failed change leaves the previous QoS in
// place (faults injected both by the kernel and by failing a chosen request).
import { skipBecause } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { NetlinkError, parseOwnerMark, type RequestContext, Rtnl } from "@vmnet/netlink-native";
import {
  type Message,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETQDISC,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
} from "@vmnet/netlink-native/codec";
import { StepError } from "@vmnet/netlink-native/plan";
import { expect } from "vitest";
import {
  applyQos,
  applyQosMany,
  getQos,
  redirect,
  removeQos,
  removeRedirect,
  TcInputError,
} from "../src/index.js";
import type { TcRequest } from "../src/messages.js";
import { Tc } from "../src/tc.js";
import { kindMissing, sh, strip, tcJson } from "./helpers.js";

interface TcQdiscJson {
  kind: string;
  handle: string;
  dev: string;
  root?: boolean;
  parent?: string;
  options?: Record<string, unknown>;
}

async function veths(netns: string, ...pairs: [string, string][]): Promise<void> {
  const rtnl = await Rtnl.open({ netns });
  try {
    for (const [a, b] of pairs) await rtnl.links.add({ kind: "veth", name: a, peer: { name: b }, up: true });
  } finally {
    rtnl.close();
  }
}

/** What the kernel holds for a link, without counters, for before/after comparisons. */
async function snapshot(link: string, tc: Tc) {
  const s = strip(await getQos(link, { tc }));
  return { ...s, classes: s.classes.map((c) => c.classid) };
}

/** Fails the n-th request that changes tc state (qdisc/filter add, replace, delete). */
class FailingTc extends Tc {
  failAt = 0;
  mutations = 0;
  override send(req: TcRequest, context: RequestContext): Promise<Message[]> {
    if ([RTM_NEWQDISC, RTM_DELQDISC, RTM_NEWTFILTER, RTM_DELTFILTER].includes(req.type)) {
      this.mutations++;
      if (this.mutations === this.failAt)
        return Promise.reject(new NetlinkError(5, context, "injected fault"));
    }
    return super.send(req, context);
  }
}

/** Counts what goes to the kernel: dumps and single-qdisc reads. */
class CountingTc extends Tc {
  dumps = 0;
  gets = 0;
  override send(req: TcRequest, context: RequestContext): Promise<Message[]> {
    if (req.type === RTM_GETQDISC) this.gets++;
    return super.send(req, context);
  }
  override dump(req: TcRequest, context: RequestContext): Promise<Message[]> {
    if (req.type === RTM_GETQDISC) this.dumps++;
    return super.dump(req, context);
  }
}

describePrivileged("QoS on real links", () => {
  test("rate: a tbf at the root, read back, changed in place, removed", async ({ netns }) => {
    await veths(netns.name, ["v0", "v1"]);
    const opts = { netns: netns.name };
    expect(await getQos("v0", opts)).toMatchObject({
      foreign: false,
      qdiscs: [{ kind: "noqueue", handle: "0:" }],
    });
    await applyQos("v0", { rate: "10mbit" }, opts);
    const [t] = await tcJson<TcQdiscJson>(netns, ["qdisc", "show", "dev", "v0", "root"]);
    expect(t).toMatchObject({ kind: "tbf", handle: "1:", options: { rate: 1_250_000, lat: 50_000 } });
    expect(await getQos("v0", opts)).toMatchObject({
      rate: 1_250_000,
      burst: 16_383,
      latency: 50_000,
      foreign: false,
    });

    await applyQos("v0", { rate: "20mbit", burst: "64kb", latency: "20ms" }, opts);
    const q = await getQos("v0", opts);
    expect(q).toMatchObject({ rate: 2_500_000, latency: 20_000, foreign: false });
    expect(q.burst).toBeGreaterThan(65_500);
    expect(q.qdiscs[0]?.handle).toBe("1:");

    await removeQos("v0", opts);
    expect((await getQos("v0", opts)).qdiscs.map((x) => x.kind)).toEqual(["noqueue"]);
    await removeQos("v0", opts); // nothing to remove: no error
  });

  test("loss and delay: netem at the root, a tbf under it with a rate (where the kernel has netem)", async ({
    netns,
    skip,
  }) => {
    await veths(netns.name, ["v0", "v1"]);
    const opts = { netns: netns.name };
    await applyQos("v0", { rate: "10mbit" }, opts);
    const before = await getQos("v0", opts);
    try {
      await applyQos("v0", { loss: "1%", delay: "50ms", jitter: "5ms", rate: "20mbit" }, opts);
    } catch (e) {
      // This kernel: the first step (netem at the root) is refused, and the tbf stays as it was.
      expect(e).toBeInstanceOf(StepError);
      const err = e as StepError;
      expect(err.step).toBe("replace root netem");
      expect(err.undone).toBe(0);
      expect(err.message).toMatch(/0 earlier step\(s\) undone/);
      expect(strip(await getQos("v0", opts))).toEqual(strip(before));
      if (
        kindMissing(err.cause) &&
        skipBecause("netem QoS trees", `this kernel has no netem (${(err.cause as Error).message})`)
      )
        return skip();
      throw e;
    }
    const q = await getQos("v0", opts);
    expect(q).toMatchObject({ loss: 1, delay: 50_000, jitter: 5_000, rate: 2_500_000, foreign: false });
    expect(q.qdiscs.map((x) => `${x.kind} ${x.handle} ${x.parent}`)).toEqual([
      "netem 2: root",
      "tbf 10: 2:1",
    ]);
    await applyQos("v0", { loss: "2%" }, opts);
    expect((await getQos("v0", opts)).qdiscs.map((x) => x.kind)).toEqual(["netem"]);
    await applyQos("v0", { rate: "5mbit" }, opts);
    expect((await getQos("v0", opts)).qdiscs.map((x) => x.kind)).toEqual(["tbf"]);
  });

  test("ingress: the link's incoming traffic redirected to a marked ifb with a tbf", async ({ netns }) => {
    await veths(netns.name, ["v0", "v1"]);
    const opts = { netns: netns.name };
    await applyQos("v0", { rate: "20mbit", ingress: { rate: "5mbit" } }, opts);
    const q = await getQos("v0", opts);
    const ifindex = (await netns.ipJson(["link", "show", "v0"]))[0].ifindex as number;
    expect(q.ingress).toEqual({ rate: 625_000, burst: 16_383, latency: 50_000, ifb: `qosin${ifindex}` });
    const [ifb] = await netns.ipJson(["-d", "link", "show", `qosin${ifindex}`]);
    expect(ifb).toMatchObject({ linkinfo: { info_kind: "ifb" } });
    expect(parseOwnerMark(ifb.ifalias)).toMatchObject({ owner: "vmnet", pid: process.pid, role: "ifb" });
    expect(ifb.flags).toContain("UP");
    const filters = await tcJson<{
      pref: number;
      options?: { actions?: { to_dev: string; mirred_action: string }[] };
    }>(netns, ["filter", "show", "dev", "v0", "parent", "ffff:"]);
    expect(filters.flatMap((f) => f.options?.actions ?? [])).toMatchObject([
      { to_dev: `qosin${ifindex}`, mirred_action: "redirect" },
    ]);

    // Changing the ingress rate reuses the ifb; leaving ingress out removes redirect and ifb.
    await applyQos("v0", { rate: "20mbit", ingress: { rate: "8mbit", latency: "10ms" } }, opts);
    expect((await getQos("v0", opts)).ingress).toMatchObject({
      rate: 1_000_000,
      latency: 10_000,
      ifb: `qosin${ifindex}`,
    });
    await applyQos("v0", { rate: "20mbit" }, opts);
    const after = await getQos("v0", opts);
    expect(after.ingress).toBeUndefined();
    expect(after.qdiscs.map((x) => x.kind)).toEqual(["tbf"]);
    expect((await netns.ipJson(["link", "show"])).map((l: { ifname: string }) => l.ifname)).not.toContain(
      `qosin${ifindex}`,
    );

    await applyQos("v0", { ingress: { rate: "1mbit", ifb: "shaper0" } }, opts);
    expect((await getQos("v0", opts)).ingress?.ifb).toBe("shaper0");
    await removeQos("v0", opts);
    const gone = await getQos("v0", opts);
    expect(gone.ingress).toBeUndefined();
    expect(gone.qdiscs.map((x) => x.kind)).toEqual(["noqueue"]);
    expect((await netns.ipJson(["link", "show"])).map((l: { ifname: string }) => l.ifname).sort()).toEqual([
      "lo",
      "v0",
      "v1",
    ]);
  });

  test("getQos reads what tc set, and says when the tree is not one applyQos builds", async ({ netns }) => {
    await veths(netns.name, ["v0", "v1"], ["w0", "w1"], ["x0", "x1"]);
    await sh(
      netns,
      "tc qdisc add dev v0 root handle 5: tbf rate 3mbit burst 20kb latency 30ms",
      "tc qdisc add dev w0 root handle 1: htb default 10",
      "tc class add dev w0 parent 1: classid 1:10 htb rate 5mbit ceil 8mbit",
      "tc qdisc add dev x0 root handle 1: tbf rate 1mbit burst 10kb limit 20kb",
      "tc qdisc add dev x0 parent 1:1 handle 10: pfifo limit 10",
    );
    const opts = { netns: netns.name };
    expect(await getQos("v0", opts)).toMatchObject({ rate: 375_000, latency: 30_000, foreign: false });
    const w0 = await getQos("w0", opts);
    expect(w0.foreign).toBe(true);
    expect(w0.rate).toBeUndefined();
    expect(w0.qdiscs[0]).toMatchObject({ kind: "htb", options: { default: 0x10 } });
    expect(w0.classes).toMatchObject([{ classid: "1:10", options: { rate: 625_000, ceil: 1_000_000 } }]);
    const x0 = await getQos("x0", opts);
    expect(x0).toMatchObject({ rate: 125_000, foreign: true });
    expect(x0.qdiscs.map((x) => `${x.kind} ${x.handle} ${x.parent}`)).toEqual([
      "tbf 1: root",
      "pfifo 10: 1:1",
    ]);

    // applyQos replaces a foreign tree in one step (another handle grafts over it).
    await applyQos("w0", { rate: "2mbit" }, opts);
    expect((await getQos("w0", opts)).qdiscs.map((x) => `${x.kind} ${x.handle}`)).toEqual(["tbf 2:"]);
    // A pfifo under a tbf we change in place is removed, as the spec has no such thing.
    await applyQos("x0", { rate: "2mbit" }, opts);
    expect((await getQos("x0", opts)).qdiscs.map((x) => `${x.kind} ${x.handle}`)).toEqual(["tbf 1:"]);
  });

  test("a change is refused when the ifb name is taken by a link that is not ours", async ({ netns }) => {
    await veths(netns.name, ["v0", "v1"]);
    const opts = { netns: netns.name };
    const ifindex = (await netns.ipJson(["link", "show", "v0"]))[0].ifindex as number;
    await applyQos("v0", { rate: "10mbit", delay: undefined }, opts);
    // Someone else's link holds the name the ifb would get.
    await veths(netns.name, [`qosin${ifindex}`, "other1"]);
    const tc = await Tc.open(opts);
    try {
      const before = await snapshot("v0", tc);
      const e = await applyQos("v0", { rate: "20mbit", ingress: { rate: "5mbit" } }, { tc }).catch(
        (x: unknown) => x,
      );
      // Found while planning: refused before anything changes.
      expect(e).toBeInstanceOf(TcInputError);
      expect((e as TcInputError).field).toBe("qos.ingress.ifb");
      expect((e as Error).message).toMatch(
        /a link named "qosin\d+" exists that vmnet-tc-qos did not create$/,
      );
      expect(await snapshot("v0", tc)).toEqual(before);
      expect(before).toMatchObject({ rate: 1_250_000 });
      const [other] = await netns.ipJson(["link", "show", `qosin${ifindex}`]);
      expect(other.ifname).toBe(`qosin${ifindex}`);
    } finally {
      tc.close();
    }
  });

  test("a failed change keeps the previous QoS: each request failed in turn by the kernel side", async ({
    netns,
  }) => {
    await veths(netns.name, ["v0", "v1"]);
    const tc = (await FailingTc.open({ netns: netns.name })) as FailingTc;
    try {
      const cases: {
        before: Parameters<typeof applyQos>[1] | null;
        after: Parameters<typeof applyQos>[1] | null;
      }[] = [
        { before: { rate: "10mbit" }, after: { rate: "20mbit", ingress: { rate: "5mbit" } } },
        {
          before: { rate: "10mbit", ingress: { rate: "5mbit" } },
          after: { rate: "30mbit", ingress: { rate: "7mbit" } },
        },
        { before: { rate: "10mbit", ingress: { rate: "5mbit" } }, after: {} },
        { before: { rate: "10mbit", ingress: { rate: "5mbit" } }, after: null },
      ];
      let failures = 0;
      for (const c of cases) {
        for (let failAt = 1; ; failAt++) {
          await removeQos("v0", { tc });
          if (c.before) await applyQos("v0", c.before, { tc });
          const before = await snapshot("v0", tc);
          tc.mutations = 0;
          tc.failAt = failAt;
          const run = c.after ? applyQos("v0", c.after, { tc }) : removeQos("v0", { tc });
          const e = await run.catch((x: unknown) => x);
          tc.failAt = 0;
          if (e === undefined) break; // every mutation of this change has been failed once
          expect(e).toBeInstanceOf(StepError);
          expect((e as StepError).undoErrors).toEqual([]);
          expect(await snapshot("v0", tc), `${JSON.stringify(c)} failing mutation ${failAt}`).toEqual(before);
          failures++;
        }
      }
      expect(failures).toBeGreaterThanOrEqual(8);
    } finally {
      tc.close();
    }
  });

  test("many links at once: concurrent calls share one dump, and each gets its own link's state", async ({
    netns,
  }) => {
    const n = 40;
    await veths(netns.name, ...Array.from({ length: n }, (_, i): [string, string] => [`m${i}`, `n${i}`]));
    await sh(netns, "tc qdisc add dev m3 root handle 7: htb", "tc qdisc add dev m5 ingress");
    const tc = (await CountingTc.open({ netns: netns.name })) as CountingTc;
    try {
      const links = Array.from({ length: n }, (_, i) => `m${i}`);
      await Promise.all(links.map((l, i) => applyQos(l, { rate: `${i + 1}mbit` }, { tc })));
      // 40 calls at once: one qdisc dump, no single reads.
      expect({ dumps: tc.dumps, gets: tc.gets }).toEqual({ dumps: 1, gets: 0 });
      // A call alone reads its own link: the root, the ingress qdisc, what hangs under the tbf.
      await applyQos("m0", { rate: "1mbit" }, { tc });
      expect({ dumps: tc.dumps, gets: tc.gets }).toEqual({ dumps: 1, gets: 3 });
      const states = await Promise.all(links.map((l) => getQos(l, { tc })));
      states.forEach((q, i) => {
        expect(q.rate, links[i]).toBe(((i + 1) * 1_000_000) / 8);
        expect(q.foreign).toBe(false);
      });
      // m3's htb was replaced (another handle grafted over it); m5's foreign ingress stays.
      expect(states[3]?.qdiscs[0]).toMatchObject({ kind: "tbf", handle: "1:" });
      expect(states[5]?.qdiscs.map((x) => x.kind)).toEqual(["tbf", "ingress"]);
      await Promise.all(links.map((l) => removeQos(l, { tc })));
      const after = await tcJson<TcQdiscJson>(netns, ["qdisc", "show"]);
      expect(after.filter((q) => q.kind === "tbf")).toEqual([]);
      expect(after.filter((q) => q.kind === "ingress").map((q) => q.dev)).toEqual(["m5"]);
      await expect(Promise.all([...links, "nosuch0"].map((l) => getQos(l, { tc })))).rejects.toThrow(
        /link get "nosuch0": ENODEV/,
      );
    } finally {
      tc.close();
    }
  });

  test("redirect(): ingress qdiscs and match-all mirred filters both ways, idempotent, removable", async ({
    netns,
  }) => {
    await veths(netns.name, ["tap0", "tap1"], ["eth0", "eth1"]);
    const opts = { netns: netns.name };
    await redirect("tap0", "eth0", opts);
    await redirect("tap0", "eth0", opts);
    for (const [from, to] of [
      ["tap0", "eth0"],
      ["eth0", "tap0"],
    ]) {
      const filters = await tcJson<{
        pref: number;
        protocol: string;
        options?: { fh?: string; actions?: Record<string, unknown>[] };
      }>(netns, ["filter", "show", "dev", from as string, "parent", "ffff:"]);
      const nodes = filters.filter((f) => f.options?.actions);
      expect(nodes).toHaveLength(1);
      expect(nodes[0]).toMatchObject({
        pref: 1,
        protocol: "all",
        options: {
          actions: [{ kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: to }],
        },
      });
    }
    // A foreign filter on the same ingress qdisc survives removeRedirect, and keeps the qdisc.
    await sh(
      netns,
      "tc filter add dev eth0 parent ffff: prio 7 protocol ip u32 match ip dst 10.9.9.9/32 action mirred egress mirror dev tap1",
    );
    await removeRedirect("tap0", "eth0", opts);
    expect(await tcJson(netns, ["qdisc", "show", "dev", "tap0", "ingress"])).toEqual([]);
    const left = await tcJson<{ pref: number }>(netns, ["filter", "show", "dev", "eth0", "parent", "ffff:"]);
    expect([...new Set(left.map((f) => f.pref))]).toEqual([7]);
    await expect(redirect("tap0", "tap0", opts)).rejects.toThrow(/to: must be another link than from/);
  });
});

describePrivileged("applyQosMany", () => {
  test("many links in one call; one failing link leaves every link as it was", async ({ netns }) => {
    const n = 30;
    await veths(netns.name, ...Array.from({ length: n }, (_, i): [string, string] => [`m${i}`, `n${i}`]));
    const tc = (await CountingTc.open({ netns: netns.name })) as CountingTc;
    try {
      const links = Array.from({ length: n }, (_, i) => `m${i}`);
      const spec = { rate: "4mbit" };
      await applyQosMany(
        links.map((link) => ({ link, qos: spec })),
        { tc },
      );
      expect({ dumps: tc.dumps, gets: tc.gets }).toEqual({ dumps: 1, gets: 0 });
      const states = await Promise.all(links.map((l) => getQos(l, { tc })));
      expect(states.every((s) => s.rate === 500_000)).toBe(true);
      const before = await Promise.all(links.map((l) => snapshot(l, tc)));
      // The ifb name m7's ingress would take is someone else's link: refused while planning.
      const m7 = (await netns.ipJson(["link", "show", "m7"]))[0].ifindex as number;
      await veths(netns.name, [`qosin${m7}`, "other7"]);
      const e = await applyQosMany(
        links.map((link) => ({
          link,
          qos: link === "m7" ? { rate: "1mbit", ingress: { rate: "1mbit" } } : { rate: "9mbit" },
        })),
        { tc },
      ).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TcInputError);
      expect(await Promise.all(links.map((l) => snapshot(l, tc)))).toEqual(before);
      // A step failing on one link (injected on m3's): the others that went through are undone.
      const e2 = await applyQosMany(
        links.map((link) => ({ link, qos: { rate: "7mbit" } })),
        {
          tc,
          beforeStep: async () => {
            await new Promise((r) => setImmediate(r));
          },
        },
      ).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e2).toBeUndefined();
      let calls = 0;
      const e3 = await applyQosMany(
        links.map((link) => ({ link, qos: { rate: "3mbit" } })),
        {
          tc,
          beforeStep: () => {
            if (++calls === 12) throw new Error("injected");
          },
        },
      ).catch((x: unknown) => x);
      expect(e3).toBeInstanceOf(StepError);
      expect((e3 as StepError).undoErrors).toEqual([]);
      const after = await Promise.all(links.map((l) => getQos(l, { tc })));
      expect(after.every((s) => s.rate === 875_000)).toBe(true);
      await applyQosMany(
        links.map((link) => ({ link, qos: null })),
        { tc },
      );
      expect((await tcJson<TcQdiscJson>(netns, ["qdisc", "show"])).filter((q) => q.kind === "tbf")).toEqual(
        [],
      );
    } finally {
      tc.close();
    }
  });

  test("reads: applyQosMany dumps once however few the links; concurrent applyQos calls share one dump", async ({
    netns,
  }) => {
    await veths(netns.name, ["f0", "g0"], ["f1", "g1"], ["f2", "g2"]);
    const tc = (await CountingTc.open({ netns: netns.name })) as CountingTc;
    try {
      // Three links (fewer than a batch of concurrent reads): still one qdisc dump, no gets.
      await applyQosMany(
        ["f0", "f1", "f2"].map((link) => ({ link, qos: { rate: "2mbit" } })),
        { tc },
      );
      expect({ dumps: tc.dumps, gets: tc.gets }).toEqual({ dumps: 1, gets: 0 });
      expect(
        (await Promise.all(["f0", "f1", "f2"].map((l) => getQos(l, { tc })))).map((q) => q.rate),
      ).toEqual([250_000, 250_000, 250_000]);
      // A missing link fails the batch (ENODEV); whatever the others were given is undone.
      const e = await applyQosMany(
        ["f0", "nosuch0"].map((link) => ({ link, qos: { rate: "3mbit" } })),
        { tc },
      ).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetlinkError);
      expect((e as NetlinkError).code).toBe("ENODEV");
      expect((await getQos("f0", { tc })).rate).toBe(250_000);
      // Twenty applyQos calls started together (the sharing of reads is by the turn they start in).
      await veths(netns.name, ...Array.from({ length: 20 }, (_, i): [string, string] => [`c${i}`, `d${i}`]));
      tc.dumps = 0;
      tc.gets = 0;
      const links = Array.from({ length: 20 }, (_, i) => `c${i}`);
      await Promise.all(links.map((l) => applyQos(l, { rate: "6mbit" }, { tc })));
      expect({ dumps: tc.dumps, gets: tc.gets }).toEqual({ dumps: 1, gets: 0 });
      expect((await Promise.all(links.map((l) => getQos(l, { tc })))).every((q) => q.rate === 750_000)).toBe(
        true,
      );
      await Promise.all(links.map((l) => removeQos(l, { tc })));
      expect(
        (await tcJson<TcQdiscJson>(netns, ["qdisc", "show"])).filter((q) => q.kind === "tbf").length,
      ).toBe(3);
    } finally {
      tc.close();
    }
  });
});
