// Plans: a fault injected before EVERY step of every plan (runPlan's beforeStep) must leave the
// namespace exactly as it was: links (ifbs included, by name, kind, alias, state), every qdisc,
// class and filter compared field by field, also over someone else's htb tree with classes and
// u32 filters, and through the ifb create and delete steps.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { Rtnl } from "@vmnet/netlink-native";
import { type Step, StepError } from "@vmnet/netlink-native/plan";
import { expect } from "vitest";
import {
  applyQos,
  planQos,
  planRedirect,
  planRemoveQos,
  planRemoveRedirect,
  type QosSpec,
  removeQos,
} from "../src/index.js";
import { Tc } from "../src/tc.js";
import { sh } from "./helpers.js";

/** Everything tc-related in the namespace, without counters, ifindexes turned into names. */
async function world(netns: string, tc: Tc) {
  const rtnl = await Rtnl.open({ netns });
  try {
    const links = (await rtnl.links.list()).sort((a, b) => a.name.localeCompare(b.name));
    const name = new Map(links.map((l) => [l.index, l.name]));
    const clean = (x: unknown) =>
      JSON.parse(
        JSON.stringify(x, (k, v) => {
          if (k === "stats" || k === "rawOptions" || k === "refcnt" || k === "tm") return undefined;
          if ((k === "ifindex" || k === "dev") && typeof v === "number") return name.get(v) ?? `?${v}`;
          return v;
        }),
      );
    const out: Record<string, unknown> = {
      links: links.map((l) => ({ name: l.name, kind: l.kind, alias: l.alias, up: l.up })),
    };
    for (const l of links) {
      const qdiscs = await tc.qdiscs.list(l.index);
      const classes = await tc.classes.list(l.index);
      const parents = [
        ...qdiscs.map((q) => (q.parent === "ingress" ? "ffff:" : q.handle)).filter((h) => h !== "0:"),
        ...classes.map((c) => c.classid),
      ];
      const filters = [];
      for (const p of parents) filters.push(...(await tc.filters.list(l.index, p).catch(() => [])));
      // Dump order follows the kernel's hash tables (insertion order), which is not state: sort.
      const by =
        <T>(key: (x: T) => string) =>
        (a: T, b: T) =>
          key(a).localeCompare(key(b));
      out[l.name] = clean({
        qdiscs: qdiscs.sort(by((q) => `${q.parent} ${q.handle}`)),
        classes: classes.sort(by((c) => c.classid)),
        filters: filters.sort(by((f) => `${f.parent} ${String(f.prio).padStart(5)} ${f.id}`)),
      });
    }
    return out;
  } finally {
    rtnl.close();
  }
}

async function veths(netns: string, ...pairs: [string, string][]): Promise<void> {
  const rtnl = await Rtnl.open({ netns });
  try {
    for (const [a, b] of pairs) await rtnl.links.add({ kind: "veth", name: a, peer: { name: b }, up: true });
  } finally {
    rtnl.close();
  }
}

/**
 * Runs `plan` once per step with a fault injected before that step (and once without), each
 * time from `setup`, and checks the namespace is exactly as before after each failure.
 */
async function faultEveryStep(
  netns: string,
  tc: Tc,
  setup: () => Promise<void>,
  plan: () => Promise<Step[]>,
): Promise<string[]> {
  const names: string[] = [];
  for (let at = 0; ; at++) {
    await setup();
    const before = await world(netns, tc);
    const steps = await plan();
    if (at === 0) names.push(...steps.map((s) => s.name));
    if (at >= steps.length) {
      // Without a fault the plan runs through.
      const { runPlan } = await import("@vmnet/netlink-native/plan");
      await runPlan(steps);
      return names;
    }
    const { runPlan } = await import("@vmnet/netlink-native/plan");
    const e = await runPlan(steps, {
      beforeStep: (_s, i) => {
        if (i === at) throw new Error(`injected before step ${i}`);
      },
    }).catch((x: unknown) => x);
    expect(e, `fault at ${at}`).toBeInstanceOf(StepError);
    expect((e as StepError).index).toBe(at);
    expect((e as StepError).undone).toBe(at);
    expect((e as StepError).undoErrors, `fault at ${at} (${steps[at]?.name})`).toEqual([]);
    expect(await world(netns, tc), `fault before step ${at}: ${steps[at]?.name}`).toEqual(before);
  }
}

describePrivileged("plans roll back exactly at every step", () => {
  test("applyQos plans: fresh link, with and without ingress, changes, removal", async ({ netns }) => {
    await veths(netns.name, ["v0", "v1"]);
    const tc = await Tc.open({ netns: netns.name });
    try {
      const cases: { from: QosSpec | null; to: QosSpec | null }[] = [
        { from: null, to: { rate: "20mbit", ingress: { rate: "5mbit" } } },
        { from: { rate: "10mbit" }, to: { rate: "20mbit", ingress: { rate: "5mbit", ifb: "shape0" } } },
        {
          from: { rate: "10mbit", ingress: { rate: "5mbit" } },
          to: { rate: "30mbit", ingress: { rate: "7mbit" } },
        },
        { from: { rate: "10mbit", ingress: { rate: "5mbit" } }, to: {} },
        { from: { rate: "10mbit", ingress: { rate: "5mbit" } }, to: null },
      ];
      const seen = new Set<string>();
      for (const c of cases) {
        const names = await faultEveryStep(
          netns.name,
          tc,
          async () => {
            await removeQos("v0", { tc });
            if (c.from) await applyQos("v0", c.from, { tc });
          },
          () => (c.to ? planQos(tc, "v0", c.to) : planRemoveQos(tc, "v0")),
        );
        for (const n of names) seen.add(n.replace(/"[^"]*"/, '"X"'));
      }
      // The ifb's whole life is among the steps faulted.
      expect([...seen]).toEqual(
        expect.arrayContaining([
          'create ifb "X"',
          'name and mark ifb "X"',
          'replace tbf on ifb "X"',
          "add ingress qdisc",
          "redirect ingress to the ifb",
          "delete ingress qdisc",
          'delete ifb "X"',
          "replace root tbf",
          "delete root tbf",
        ]),
      );
    } finally {
      tc.close();
    }
  });

  test("over someone else's htb tree (classes, a leaf qdisc, u32 filters) the whole tree comes back", async ({
    netns,
  }) => {
    await veths(netns.name, ["w0", "w1"]);
    const tc = await Tc.open({ netns: netns.name });
    try {
      const foreign = async () => {
        await sh(netns, "tc qdisc del dev w0 root 2>/dev/null || true");
        await removeQos("w0", { tc });
        await sh(
          netns,
          "tc qdisc add dev w0 root handle 1: htb default 20",
          "tc class add dev w0 parent 1: classid 1:1 htb rate 50mbit",
          "tc class add dev w0 parent 1:1 classid 1:10 htb rate 10mbit ceil 20mbit prio 1",
          "tc class add dev w0 parent 1:1 classid 1:20 htb rate 5mbit ceil 50mbit",
          "tc qdisc add dev w0 parent 1:10 handle 10: pfifo limit 30",
          "tc filter add dev w0 parent 1: prio 5 protocol ip u32 match ip dst 10.1.0.0/16 flowid 1:10",
          "tc filter add dev w0 parent 1: prio 5 protocol ip u32 match ip dport 22 0xffff flowid 1:10",
          "tc filter add dev w0 parent 1: prio 9 protocol ip u32 match ip src 10.2.0.1/32 flowid 1:20",
        );
      };
      const names = await faultEveryStep(netns.name, tc, foreign, () =>
        planQos(tc, "w0", { rate: "8mbit", ingress: { rate: "2mbit" } }),
      );
      expect(names[0]).toBe("replace root tbf");
      expect(names.length).toBeGreaterThanOrEqual(5);
      // Sanity: the foreign tree really has what we compare (3 classes, 1 leaf, 3 key filters).
      await foreign();
      const w = (await world(netns.name, tc)).w0 as {
        classes: unknown[];
        qdiscs: unknown[];
        filters: unknown[];
      };
      expect(w.classes).toHaveLength(3);
      expect(w.qdiscs).toHaveLength(2);
      expect(w.filters.length).toBeGreaterThanOrEqual(3);
    } finally {
      tc.close();
    }
  });

  test("redirect plans, one way and both, adding and removing", async ({ netns }) => {
    await veths(netns.name, ["tap0", "tap1"], ["eth0", "eth1"]);
    const tc = await Tc.open({ netns: netns.name });
    try {
      const clear = () =>
        sh(
          netns,
          "tc qdisc del dev tap0 ingress 2>/dev/null || true",
          "tc qdisc del dev eth0 ingress 2>/dev/null || true",
        );
      const add = await faultEveryStep(netns.name, tc, clear, () => planRedirect(tc, "tap0", "eth0"));
      expect(add).toHaveLength(4);
      const wired = async () => {
        await clear();
        const { runPlan } = await import("@vmnet/netlink-native/plan");
        await runPlan(await planRedirect(tc, "tap0", "eth0"));
        // a foreign filter keeps eth0's ingress qdisc
        await sh(
          netns,
          "tc filter add dev eth0 parent ffff: prio 7 protocol ip u32 match ip dst 10.9.9.9/32 action mirred egress mirror dev tap1",
        );
      };
      const del = await faultEveryStep(netns.name, tc, wired, () => planRemoveRedirect(tc, "tap0", "eth0"));
      expect(del).toEqual([
        expect.stringMatching(/^delete ingress qdisc on/),
        expect.stringMatching(/^delete redirect on/),
      ]);
    } finally {
      tc.close();
    }
  });
});
