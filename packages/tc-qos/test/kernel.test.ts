// Real apply on this kernel: every kind it has, configured through netlink, read back by our own
// decoding and by iproute2's tc (`tc -j ... show`), which must agree. Each test has its own netns.
import { skipBecause } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { Rtnl } from "@vmnet/netlink-native";
import { RTM_GETLINK, RTM_NEWQDISC } from "@vmnet/netlink-native/codec";
import { expect } from "vitest";
import type { MirredInfo } from "../src/actions/mirred.js";
import * as C from "../src/constants.js";
import type { U32Info } from "../src/filters/u32.js";
import { Tc } from "../src/tc.js";
import { formatRate, formatSize } from "../src/units.js";
import { kindMissing, sh, strip, tcJson, tcText } from "./helpers.js";

interface TcQdiscJson {
  kind: string;
  handle: string;
  dev: string;
  root?: boolean;
  parent?: string;
  options?: Record<string, unknown>;
}

async function setup(netnsName: string) {
  const rtnl = await Rtnl.open({ netns: netnsName });
  await rtnl.links.add({ kind: "veth", name: "v0", peer: { name: "v1" }, up: true });
  await rtnl.links.add({ kind: "veth", name: "w0", peer: { name: "w1" }, up: true });
  await rtnl.links.add({ kind: "ifb", name: "ifb0", up: true });
  const tc = await Tc.open({ netns: netnsName });
  return {
    rtnl,
    tc,
    close() {
      tc.close();
      rtnl.close();
    },
  };
}

describePrivileged("qdiscs, classes, filters and actions on this kernel", () => {
  test("tbf: add, change, replace, delete; our decoding agrees with tc -j", async ({ netns }) => {
    const { tc, close } = await setup(netns.name);
    try {
      await tc.qdiscs.add("v0", {
        kind: "tbf",
        handle: "1:",
        rate: "10mbit",
        burst: "32kb",
        latency: "50ms",
      });
      await tc.qdiscs.add("w0", {
        kind: "tbf",
        rate: "40gbit",
        burst: "1mb",
        latency: "10ms",
        peakrate: "50gbit",
        mtu: 9000,
      });
      await tc.qdiscs.add("ifb0", { kind: "tbf", rate: "125kbps", burst: "10kb", limit: "100kb", mpu: 64 });
      for (const dev of ["v0", "w0", "ifb0"]) {
        const ours = await tc.qdiscs.get(dev);
        const [theirs] = await tcJson<TcQdiscJson>(netns, ["-d", "qdisc", "show", "dev", dev, "root"]);
        expect(ours?.kind).toBe("tbf");
        expect(theirs?.kind).toBe("tbf");
        if (ours?.kind !== "tbf" || !ours.options || !theirs?.options) throw new Error("no tbf");
        const o = ours.options;
        const t = theirs.options;
        expect(o.rate).toBe(t.rate);
        expect(`${formatSize(o.burst)}/1`).toBe(t.burst);
        expect(o.latency).toBe(t.lat);
        expect(o.mpu).toBe(t.mpu);
        expect(o.linklayer).toBe(t.linklayer);
        if (o.peakrate !== undefined) expect(`${formatSize(o.mtu ?? 0)}/1`).toBe(t.mtu);
      }
      const w0 = await tc.qdiscs.get("w0");
      expect(w0?.options).toMatchObject({ rate: 5_000_000_000, peakrate: 6_250_000_000 });

      await tc.qdiscs.change("v0", {
        kind: "tbf",
        handle: "1:",
        rate: "5mbit",
        burst: "64kb",
        latency: "25ms",
      });
      expect((await tc.qdiscs.get("v0"))?.options).toMatchObject({ rate: 625_000, latency: 25_000 });
      await tc.qdiscs.replace("v0", {
        kind: "tbf",
        handle: "1:",
        rate: "20mbit",
        burst: "32kb",
        latency: "50ms",
      });
      const [after] = await tcJson<TcQdiscJson>(netns, ["qdisc", "show", "dev", "v0", "root"]);
      expect(after?.options?.rate).toBe(2_500_000);
      await expect(
        tc.qdiscs.add("v0", { kind: "tbf", handle: "1:", rate: "1mbit", burst: "10kb", latency: "1ms" }),
      ).rejects.toThrow(/qdisc add tbf "v0": EEXIST/);
      await tc.qdiscs.delete("v0");
      expect((await tc.qdiscs.get("v0"))?.kind).toBe("noqueue");
    } finally {
      close();
    }
  });

  test("htb: qdisc and classes with rate, ceil, bursts, prio; agrees with tc", async ({ netns }) => {
    const { tc, close } = await setup(netns.name);
    try {
      await tc.qdiscs.add("v0", { kind: "htb", handle: "1:", default: "10", r2q: 5, directQlen: 100 });
      await tc.classes.add("v0", { kind: "htb", parent: "1:", classid: "1:1", rate: "100mbit" });
      await tc.classes.add("v0", {
        kind: "htb",
        parent: "1:1",
        classid: "1:10",
        rate: "5mbit",
        ceil: "10mbit",
        burst: "15k",
        cburst: "15k",
        prio: 1,
      });
      await tc.classes.add("v0", {
        kind: "htb",
        parent: "1:",
        classid: "1:2",
        rate: "50gbit",
        ceil: "60gbit",
      });
      await tc.qdiscs.add("v0", { kind: "pfifo", parent: "1:10", handle: "20:", limit: 50 });

      const [q] = await tcJson<TcQdiscJson>(netns, ["-d", "qdisc", "show", "dev", "v0", "root"]);
      const ours = await tc.qdiscs.get("v0");
      expect(ours?.kind === "htb" && ours.options).toMatchObject({
        r2q: q?.options?.r2q,
        default: Number(q?.options?.default),
        directQlen: q?.options?.direct_qlen,
        version: 0x30011,
      });

      // tc 6.1 prints htb classes as text even with -j.
      const text = await tcText(netns, ["-d", "class", "show", "dev", "v0"]);
      const classes = await tc.classes.list("v0");
      expect(classes.map((c) => c.classid).sort()).toEqual(["1:1", "1:10", "1:2"]);
      for (const c of classes) {
        const line = text.split("\n").find((l) => l.startsWith(`class htb ${c.classid} `));
        expect(line, c.classid).toBeDefined();
        if (c.kind !== "htb" || !c.options || !line) continue;
        const o = c.options;
        expect(line).toContain(c.parent === "root" ? " root " : ` parent ${c.parent} `);
        if (c.leaf) expect(line).toContain(` leaf ${c.leaf} `);
        expect(line).toContain(` rate ${formatRate(o.rate)} ceil ${formatRate(o.ceil)} `);
        expect(line).toContain(` burst ${formatSize(o.burst)}/1 `);
        expect(line).toContain(` cburst ${formatSize(o.cburst)}/1 `);
        expect(line).toContain(` level ${o.level}`);
        if (o.level === 0) expect(line).toContain(` prio ${o.prio} quantum ${o.quantum} `);
      }
      expect(classes.find((c) => c.classid === "1:10")).toMatchObject({
        leaf: "20:",
        options: { rate: 625_000, ceil: 1_250_000, burst: 15_360, cburst: 15_360, prio: 1 },
      });
      expect(classes.find((c) => c.classid === "1:2")?.options).toMatchObject({
        rate: 6_250_000_000,
        ceil: 7_500_000_000,
      });

      await tc.classes.change("v0", { kind: "htb", parent: "1:1", classid: "1:10", rate: "7mbit" });
      await tc.classes.replace("v0", { kind: "htb", parent: "1:1", classid: "1:11", rate: "1mbit" });
      const after = await tc.classes.list("v0");
      expect(after.find((c) => c.classid === "1:10")?.options).toMatchObject({
        rate: 875_000,
        ceil: 875_000,
      });
      expect(after.find((c) => c.classid === "1:11")).toBeDefined();
      await tc.qdiscs.delete("v0", { parent: "1:10", handle: "20:" });
      await tc.classes.delete("v0", { classid: "1:10" });
      expect((await tc.classes.list("v0")).map((c) => c.classid).sort()).toEqual(["1:1", "1:11", "1:2"]);
    } finally {
      close();
    }
  });

  test("ingress, clsact, pfifo, bfifo: listed as tc lists them", async ({ netns }) => {
    const { tc, close } = await setup(netns.name);
    try {
      await tc.qdiscs.add("v0", { kind: "ingress" });
      await tc.qdiscs.add("w0", { kind: "clsact" });
      await tc.qdiscs.add("v0", { kind: "pfifo", handle: "2:", limit: 100 });
      await tc.qdiscs.add("w0", { kind: "bfifo", handle: "3:", limit: "64kb" });
      await tc.qdiscs.add("ifb0", { kind: "pfifo" });
      const ours = strip(await tc.qdiscs.list());
      const theirs = await tcJson<TcQdiscJson>(netns, ["qdisc", "show"]);
      const links = new Map(
        (await netns.ipJson(["link", "show"])).map((l: { ifindex: number; ifname: string }) => [
          l.ifindex,
          l.ifname,
        ]),
      );
      const key = (kind: string, dev: string, handle: string) => `${dev} ${kind} ${handle}`;
      expect(ours.map((q) => key(q.kind, links.get(q.ifindex) ?? "?", q.handle)).sort()).toEqual(
        theirs.map((t) => key(t.kind, t.dev, t.handle)).sort(),
      );
      for (const t of theirs) {
        const o = ours.find((q) => links.get(q.ifindex) === t.dev && q.kind === t.kind);
        if (!o) continue;
        expect(o.parent).toBe(t.root ? "root" : t.parent === "ffff:fff1" ? "ingress" : t.parent);
        if (t.kind === "pfifo" || t.kind === "bfifo") expect(o.options).toEqual({ limit: t.options?.limit });
      }
      expect(ours.find((q) => q.kind === "bfifo")?.options).toEqual({ limit: 65536 });
      await tc.qdiscs.delete("v0", { kind: "ingress" });
      await tc.qdiscs.delete("w0", { kind: "clsact" });
      expect(await tc.qdiscs.get("v0", "ingress")).toBeUndefined();
      expect(await tc.qdiscs.get("w0", "ingress")).toBeUndefined();
    } finally {
      close();
    }
  });

  test("u32 filters and mirred actions: agree with tc -j filter show", async ({ netns }) => {
    const { tc, close } = await setup(netns.name);
    try {
      await tc.qdiscs.add("w0", { kind: "ingress" });
      await tc.qdiscs.add("v0", { kind: "htb", handle: "1:" });
      await tc.qdiscs.add("v1", { kind: "clsact" });
      await tc.filters.add("w0", {
        kind: "u32",
        parent: "ffff:",
        protocol: "ip",
        prio: 2,
        match: [
          { match: "ip.src", value: "10.0.0.1/32" },
          { match: "ip.dport", value: 80 },
        ],
        actions: [{ kind: "mirred", action: "redirect", dev: "ifb0" }],
      });
      await tc.filters.add("w0", {
        kind: "u32",
        parent: "ffff:",
        prio: 3,
        matchAll: true,
        actions: [
          { kind: "mirred", action: "mirror", dev: "ifb0", control: "pipe" },
          { kind: "mirred", direction: "ingress", action: "redirect", dev: "v1" },
        ],
      });
      await tc.filters.add("v0", {
        kind: "u32",
        parent: "1:",
        protocol: "ip",
        prio: 1,
        match: [{ match: "ip.dst", value: "10.0.0.0/24" }],
        classid: "1:10",
      });
      await tc.filters.add("v0", {
        kind: "u32",
        parent: "1:",
        protocol: "ipv6",
        prio: 4,
        match: [
          { match: "ip6.dst", value: "2001:db8::/64" },
          { match: "tcp.dst", value: 443 },
        ],
        classid: "1:20",
      });
      await tc.filters.add("v1", {
        kind: "u32",
        parent: "egress",
        matchAll: true,
        actions: [{ kind: "mirred", action: "mirror", dev: "w1" }],
      });

      const links = new Map(
        (await netns.ipJson(["link", "show"])).map((l: { ifindex: number; ifname: string }) => [
          l.ifindex,
          l.ifname,
        ]),
      );
      for (const [dev, parent] of [
        ["w0", "ffff:"],
        ["v0", "1:"],
        ["v1", "egress"],
      ] as const) {
        const ours = await tc.filters.list(dev, parent);
        const theirs = await tcJson<{
          protocol: string;
          pref: number;
          kind: string;
          options?: { fh?: string; flowid?: string; actions?: Record<string, unknown>[] };
        }>(netns, [
          "filter",
          "show",
          "dev",
          dev,
          parent === "egress" ? "egress" : "parent",
          ...(parent === "egress" ? [] : [parent]),
        ]);
        expect(ours.length).toBe(theirs.length);
        for (const t of theirs) {
          const o = ours.find(
            (f) => f.prio === t.pref && (t.options?.fh ? f.id === t.options.fh : f.handle === 0),
          );
          expect(o, `${dev} ${t.pref} ${t.options?.fh}`).toBeDefined();
          if (!o) continue;
          expect(o.protocol).toBe(t.protocol);
          expect(o.kind).toBe(t.kind);
          const opts = o.options as U32Info;
          if (t.options?.flowid) expect(opts.classid).toBe(t.options.flowid);
          expect(opts.actions.length).toBe(t.options?.actions?.length ?? 0);
          opts.actions.forEach((a, i) => {
            const ta = t.options?.actions?.[i] as Record<string, unknown>;
            const m = a as MirredInfo;
            expect(m.kind).toBe(ta.kind);
            expect(m.action).toBe(ta.mirred_action);
            expect(m.direction).toBe(ta.direction);
            expect(links.get(m.ifindex)).toBe(ta.to_dev);
            expect(m.index).toBe(ta.index);
            expect(m.control).toBe(
              ta.control_action && (ta.control_action as { type: string }).type === "pipe"
                ? C.TC_ACT_PIPE
                : C.TC_ACT_STOLEN,
            );
          });
        }
      }
      // Selector keys, against tc's text (its JSON repeats the "match" key).
      const text = await tcText(netns, ["filter", "show", "dev", "v0", "parent", "1:"]);
      const keys = [...text.matchAll(/match ([0-9a-f]{8})\/([0-9a-f]{8}) at (nexthdr\+)?(-?\d+)/g)].map(
        (m) => ({
          value: Number.parseInt(m[1] as string, 16),
          mask: Number.parseInt(m[2] as string, 16),
          off: Number(m[4]),
          offmask: m[3] ? -1 : 0,
        }),
      );
      const ourKeys = (await tc.filters.list("v0", "1:")).flatMap((f) =>
        f.kind === "u32" ? (f.options?.keys ?? []) : [],
      );
      expect(ourKeys).toEqual(keys);
      expect(ourKeys).toContainEqual({ value: 443, mask: 0xffff, off: 0, offmask: -1 });

      // Replace keeps the handle and swaps the action; change too; delete by prio and all.
      const node = (await tc.filters.list("w0", "ffff:")).find(
        (f) => f.prio === 3 && f.kind === "u32" && f.options?.keys,
      );
      if (!node) throw new Error("no node");
      await tc.filters.replace("w0", {
        kind: "u32",
        parent: "ffff:",
        prio: 3,
        handle: node.id,
        matchAll: true,
        actions: [{ kind: "mirred", action: "redirect", dev: "v1" }],
      });
      const replaced = (await tc.filters.list("w0", "ffff:")).find((f) => f.id === node.id && f.prio === 3);
      expect((replaced?.options as U32Info | undefined)?.actions).toMatchObject([
        { action: "redirect", ifindex: [...links].find(([, n]) => n === "v1")?.[0] },
      ]);
      await tc.filters.delete("w0", {
        parent: "ffff:",
        prio: 3,
        protocol: "all",
        handle: node.id,
        kind: "u32",
      });
      expect(
        (await tc.filters.list("w0", "ffff:")).filter(
          (f) => f.prio === 3 && f.kind === "u32" && f.options?.keys,
        ),
      ).toEqual([]);
      await tc.filters.delete("w0", { parent: "ffff:", prio: 2 });
      await tc.filters.delete("w0", { parent: "ffff:", prio: 3 });
      await tc.filters.delete("v0", { parent: "1:" });
      expect(await tc.filters.list("w0", "ffff:")).toHaveLength(0);
      expect(await tc.filters.list("v0", "1:")).toHaveLength(0);
    } finally {
      close();
    }
  });

  test("standalone mirred actions: add, replace, list (as tc lists them), delete", async ({ netns }) => {
    const { tc, close } = await setup(netns.name);
    try {
      await tc.actions.add({ kind: "mirred", action: "redirect", dev: "v1", index: 5 });
      await tc.actions.add([
        { kind: "mirred", action: "mirror", dev: "w1", index: 6 },
        { kind: "mirred", direction: "ingress", action: "redirect", dev: "v0", index: 7 },
      ]);
      await tc.actions.replace({ kind: "mirred", action: "mirror", dev: "ifb0", index: 5 });
      const ours = await tc.actions.list("mirred");
      const theirs = (
        await tcJson<{ actions?: Record<string, unknown>[] }>(netns, ["actions", "ls", "action", "mirred"])
      ).flatMap((x) => x.actions ?? []);
      const links = new Map(
        (await netns.ipJson(["link", "show"])).map((l: { ifindex: number; ifname: string }) => [
          l.ifindex,
          l.ifname,
        ]),
      );
      expect(
        ours.map((a) => {
          const m = a as MirredInfo;
          return `${m.index} ${m.direction} ${m.action} ${links.get(m.ifindex)}`;
        }),
      ).toEqual(theirs.map((t) => `${t.index} ${t.direction} ${t.mirred_action} ${t.to_dev}`));
      expect(ours.map((a) => (a as MirredInfo).index)).toEqual([5, 6, 7]);
      await tc.actions.delete("mirred", 6);
      expect((await tc.actions.list("mirred")).map((a) => (a as MirredInfo).index)).toEqual([5, 7]);
      await expect(
        tc.actions.add({ kind: "mirred", action: "redirect", dev: "v1", index: 5 }),
      ).rejects.toThrow(/EEXIST/);
    } finally {
      close();
    }
  });

  test("names asked for together are looked up in one batch (no link dump); a missing one fails alone", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    const tc = await Tc.open({ netns: netns.name });
    try {
      const n = 70;
      for (let i = 0; i < n; i++)
        await rtnl.links.add({ kind: "veth", name: `m${i}`, peer: { name: `n${i}` } });
      // Alternative names resolve too (to their link's index): one short enough for the ioctl,
      // one too long for it (asked for by RTM_GETLINK).
      await netns.exec("ip", ["link", "property", "add", "dev", "m5", "altname", "alt-of-m5"]);
      const longAlt = "a-long-altname-of-m6";
      await netns.exec("ip", ["link", "property", "add", "dev", "m6", "altname", longAlt]);
      const m5 = (await rtnl.links.get("m5")).index;
      const m6 = (await rtnl.links.get("m6")).index;
      const counts = { linkDumps: 0, linkGets: 0, lookups: 0, looked: 0 };
      const conn = tc.connection;
      const dump = conn.dump.bind(conn);
      const dumpAll = conn.dumpAll.bind(conn);
      const request = conn.request.bind(conn);
      const linkIndexes = conn.linkIndexes.bind(conn);
      conn.dump = (type, ...rest) => {
        if (type === RTM_GETLINK) counts.linkDumps++;
        return dump(type, ...rest);
      };
      conn.dumpAll = (type, ...rest) => {
        if (type === RTM_GETLINK) counts.linkDumps++;
        return dumpAll(type, ...rest);
      };
      conn.request = (type, ...rest) => {
        if (type === RTM_GETLINK) counts.linkGets++;
        return request(type, ...rest);
      };
      conn.linkIndexes = (refs, context) => {
        counts.lookups++;
        counts.looked += refs.length;
        return linkIndexes(refs, context);
      };
      const names = Array.from({ length: n }, (_, i) => `m${i}`);
      const results = await Promise.allSettled(
        [...names, "absent0"].map((l) => tc.qdiscs.add(l, { kind: "pfifo", handle: "3:", limit: 10 })),
      );
      // One lookup for all 71 names; the absent one is then asked for alone, and fails alone.
      expect(counts).toEqual({ linkDumps: 0, linkGets: 1, lookups: 1, looked: n + 1 });
      expect(results.slice(0, n).every((r) => r.status === "fulfilled")).toBe(true);
      expect(String((results[n] as PromiseRejectedResult).reason)).toMatch(/link get "absent0": ENODEV/);
      // The same name twice and both altnames in one batch: the long altname by RTM_GETLINK.
      const idx = await Promise.all([...names, "m5", "alt-of-m5", longAlt].map((l) => tc.ifindex(l)));
      expect(idx.slice(-3)).toEqual([m5, m5, m6]);
      expect(idx[5]).toBe(m5);
      expect(idx[6]).toBe(m6);
      expect(new Set(idx.slice(0, n)).size).toBe(n);
      expect(counts).toEqual({ linkDumps: 0, linkGets: 2, lookups: 2, looked: 2 * n + 4 });
      const theirs = await tcJson<TcQdiscJson>(netns, ["qdisc", "show"]);
      expect(
        theirs
          .filter((q) => q.kind === "pfifo")
          .map((q) => q.dev)
          .sort(),
      ).toEqual([...names].sort());
      // Indexes match the kernel's for every name (ip's view).
      const ipLinks: { ifname: string; ifindex: number }[] = await netns.ipJson(["link", "show"]);
      const byName = new Map(ipLinks.map((l) => [l.ifname, l.ifindex]));
      expect(idx.slice(0, n)).toEqual(names.map((m) => byName.get(m)));
      // One name alone: one RTM_GETLINK, no lookup batch.
      await tc.qdiscs.delete("m0");
      expect(counts).toMatchObject({ linkGets: 3, lookups: 2 });
    } finally {
      tc.close();
      rtnl.close();
    }
  });

  test("netem: applied and read back where the kernel has it", async ({ netns, skip }) => {
    const { tc, close } = await setup(netns.name);
    try {
      try {
        await tc.qdiscs.add("v0", {
          kind: "netem",
          handle: "1:",
          delay: "100ms",
          jitter: "10ms",
          delayCorrelation: "25%",
          loss: { model: "gemodel", p: "1%", r: "10%", lossInBad: "70%", lossInGood: "0.1%" },
          duplicate: "2%",
          corrupt: "0.5%",
          rate: "10mbit",
          limit: 500,
        });
      } catch (e) {
        if (
          kindMissing(e) &&
          skipBecause("netem real-apply tests", `this kernel has no netem (${(e as Error).message})`)
        )
          return skip();
        throw e;
      }
      const q = await tc.qdiscs.get("v0");
      expect(q?.kind === "netem" && q.options).toMatchObject({
        limit: 500,
        delay: 100_000,
        jitter: 10_000,
        delayCorrelation: 25,
        loss: { model: "gemodel", p: 1, r: 10, lossInBad: 70, lossInGood: 0.1 },
        duplicate: 2,
        corrupt: 0.5,
        rate: 1_250_000,
      });
      const [t] = await tcJson<TcQdiscJson>(netns, ["qdisc", "show", "dev", "v0", "root"]);
      expect(t?.kind).toBe("netem");
      expect(t?.options?.limit).toBe(500);
      await tc.qdiscs.add("v0", {
        kind: "tbf",
        parent: "1:1",
        handle: "10:",
        rate: "5mbit",
        burst: "16kb",
        latency: "50ms",
      });
      expect((await tc.qdiscs.get("v0", "1:1"))?.kind).toBe("tbf");
      await sh(netns, "tc qdisc del dev v0 root");
    } finally {
      close();
    }
  });
});
