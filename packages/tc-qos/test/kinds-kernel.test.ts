// The kinds added with tc-requests-kinds.json, really applied where this kernel has them: u32
// hash tables (divisor, link + hashkey, a node in a bucket, sample) classify real traffic
// decisions as tc shows them; sfq, fq_codel, matchall and the vlan/sample/police actions are
// applied and read back where the kernel has the module, and skipped with the reason printed
// where it does not (their bytes are tested against tc's in tc-bytes-kinds.test.ts).
import { skipBecause } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { NetlinkError, Rtnl } from "@vmnet/netlink-native";
import { expect } from "vitest";
import { Tc } from "../src/index.js";
import { tcText } from "./helpers.js";

async function veth(netns: string): Promise<void> {
  const rtnl = await Rtnl.open({ netns });
  try {
    await rtnl.links.add({ kind: "veth", name: "k0", peer: { name: "k1" }, up: true });
  } finally {
    rtnl.close();
  }
}

/** Runs `fn`; a kernel that lacks the kind makes the test skip with the reason printed. */
async function whereTheKernelHasIt(what: string, skip: () => void, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (
      e instanceof NetlinkError &&
      (e.code === "ENOENT" || e.code === "EOPNOTSUPP" || e.code === "EINVAL") &&
      /unknown|not supported|not found|Failed to load|module|kind/i.test(e.message) &&
      skipBecause(what, `this kernel lacks it (${e.message})`)
    )
      return skip();
    throw e;
  }
}

describePrivileged("new kinds on this kernel", () => {
  test("u32 hash tables: a table, a link with a hash key, nodes in buckets (by ht and by sample)", async ({
    netns,
  }) => {
    await veth(netns.name);
    const tc = await Tc.open({ netns: netns.name });
    try {
      await tc.qdiscs.add("k0", { kind: "htb", handle: "1:", default: 0x20 });
      await tc.classes.add("k0", { kind: "htb", classid: "1:10", rate: "10mbit" });
      await tc.classes.add("k0", { kind: "htb", classid: "1:20", rate: "10mbit" });
      await tc.filters.add("k0", {
        kind: "u32",
        parent: "1:",
        prio: 5,
        handle: "2:",
        protocol: "ip",
        divisor: 256,
      });
      await tc.filters.add("k0", {
        kind: "u32",
        parent: "1:",
        prio: 5,
        protocol: "ip",
        ht: "800::",
        match: [{ match: "ip.dst", value: "10.0.0.0/16" }],
        hashkey: { mask: 0xff, at: 16 },
        link: "2:",
      });
      await tc.filters.add("k0", {
        kind: "u32",
        parent: "1:",
        prio: 5,
        protocol: "ip",
        ht: "2:7:",
        match: [{ match: "ip.dst", value: "10.0.0.7/32" }],
        classid: "1:10",
      });
      await tc.filters.add("k0", {
        kind: "u32",
        parent: "1:",
        prio: 5,
        protocol: "ip",
        ht: "2:",
        // The last byte of the destination picks the bucket, as the link's hash key does.
        sample: { match: "u32", value: 0x0a000009, mask: 0xff, at: 16 },
        match: [{ match: "ip.dst", value: "10.0.0.9/32" }],
        classid: "1:20",
      });
      const filters = await tc.filters.list("k0", "1:");
      const u32 = filters.flatMap((f) => (f.kind === "u32" ? [{ id: f.id, ...f.options }] : []));
      expect(u32.find((f) => f.id === "2:")).toMatchObject({ divisor: 256 });
      expect(u32.find((f) => f.link === 0x00200000)).toMatchObject({ hashkey: { mask: 0xff, at: 16 } });
      expect(u32.find((f) => f.id === "2:7:800")).toMatchObject({ classid: "1:10" });
      expect(u32.find((f) => f.id === "2:9:800")).toMatchObject({ classid: "1:20" });
      // tc reads the same tree back.
      const text = await tcText(netns, ["filter", "show", "dev", "k0", "parent", "1:"]);
      expect(text).toMatch(/fh 2: ht divisor 256/);
      expect(text).toMatch(/link 2:/);
      expect(text).toMatch(/hash mask 000000ff at 16/);
      expect(text).toMatch(/fh 2:7:800 .*flowid 1:10/);
      expect(text).toMatch(/fh 2:9:800 .*flowid 1:20/);
    } finally {
      tc.close();
    }
  });

  for (const kind of ["sfq", "fq_codel"] as const) {
    test(`${kind}: applied and read back`, async ({ netns, skip }) => {
      await veth(netns.name);
      const tc = await Tc.open({ netns: netns.name });
      try {
        await whereTheKernelHasIt(`${kind} qdisc`, skip, async () => {
          if (kind === "sfq") await tc.qdiscs.add("k0", { kind, handle: "1:", perturb: 10, limit: 100 });
          else await tc.qdiscs.add("k0", { kind, handle: "1:", target: "5ms", interval: "100ms", ecn: true });
          const q = await tc.qdiscs.get("k0");
          expect(q?.kind).toBe(kind);
          expect(q?.options).toMatchObject(
            kind === "sfq" ? { perturb: 10, limit: 100 } : { target: 5000, interval: 100_000, ecn: true },
          );
        });
      } finally {
        tc.close();
      }
    });
  }

  test("matchall with a mirred action", async ({ netns, skip }) => {
    await veth(netns.name);
    const tc = await Tc.open({ netns: netns.name });
    try {
      await tc.qdiscs.add("k0", { kind: "ingress" });
      await whereTheKernelHasIt("matchall classifier", skip, async () => {
        await tc.filters.add("k0", {
          kind: "matchall",
          parent: "ffff:",
          actions: [{ kind: "mirred", direction: "egress", action: "redirect", dev: "k1" }],
        });
        const [f] = await tc.filters.list("k0", "ffff:");
        expect(f).toMatchObject({
          kind: "matchall",
          options: { actions: [{ kind: "mirred", action: "redirect" }] },
        });
      });
    } finally {
      tc.close();
    }
  });

  for (const action of [
    { kind: "vlan", action: "push", id: 100 },
    { kind: "sample", rate: 100, group: 5 },
    { kind: "police", rate: "1mbit", burst: "10k", exceed: "drop" },
  ] as const) {
    test(`${action.kind} action on a u32 filter: applied and read back`, async ({ netns, skip }) => {
      await veth(netns.name);
      const tc = await Tc.open({ netns: netns.name });
      try {
        await tc.qdiscs.add("k0", { kind: "ingress" });
        await whereTheKernelHasIt(`${action.kind} action`, skip, async () => {
          await tc.filters.add("k0", {
            kind: "u32",
            parent: "ffff:",
            prio: 1,
            matchAll: true,
            actions: [action],
          });
          const node = (await tc.filters.list("k0", "ffff:")).find(
            (f) => f.kind === "u32" && f.options?.keys,
          );
          const expected =
            action.kind === "vlan"
              ? { kind: "vlan", action: "push", id: 100 }
              : action.kind === "sample"
                ? { kind: "sample", rate: 100, group: 5 }
                : { kind: "police", rate: 125_000 };
          expect(node?.options).toMatchObject({ actions: [expected] });
        });
      } finally {
        tc.close();
      }
    });
  }
});
