import { readdirSync, readlinkSync, statSync } from "node:fs";
import { uniqueName } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { expect, test } from "vitest";
import {
  createNetns,
  deleteNetns,
  listNetns,
  NetlinkInputError,
  netnsIdentity,
  openTap,
  Rtnl,
  sameNetns,
} from "../src/index.js";

/** The netns of every thread of this process (libuv's pool included). */
function threadNetns(): string[] {
  return readdirSync("/proc/self/task").map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`));
}

describePrivileged("network namespaces", () => {
  test("create/delete is what iproute2 sees, and identities tell namespaces apart", async () => {
    const name = uniqueName("nsx");
    const ns = await createNetns(name);
    try {
      expect(ns.path).toBe(`/run/netns/${name}`);
      expect((await execa("ip", ["netns", "list"])).stdout).toContain(name);
      expect(listNetns()).toContain(name);
      // iproute2 can use it.
      await execa("ip", ["-n", name, "link", "add", "d0", "type", "ifb"]);
      const rtnl = await Rtnl.open({ netns: name });
      expect((await rtnl.links.get("d0")).kind).toBe("ifb");
      rtnl.close();
      expect(sameNetns(name, { path: ns.path })).toBe(true);
      expect(sameNetns(name, { pid: process.pid })).toBe(false);
      expect(netnsIdentity({ pid: process.pid })).toBe(netnsIdentity({ path: "/proc/self/ns/net" }));
      await expect(createNetns(name)).rejects.toMatchObject({ code: "EEXIST" });
    } finally {
      await deleteNetns(name);
    }
    expect((await execa("ip", ["netns", "list"])).stdout).not.toContain(name);
    expect(() => statSync(`/run/netns/${name}`)).toThrow();
  });

  test("a netns made by iproute2 opens by name; a missing one is ENOENT", async () => {
    const name = uniqueName("nsy");
    await execa("ip", ["netns", "add", name]);
    try {
      const rtnl = await Rtnl.open({ netns: name });
      expect((await rtnl.links.list()).map((l) => l.name)).toEqual(["lo"]);
      rtnl.close();
    } finally {
      await execa("ip", ["netns", "del", name]);
    }
    await expect(Rtnl.open({ netns: "does-not-exist" })).rejects.toMatchObject({ code: "ENOENT" });
    await expect(deleteNetns("../etc")).rejects.toThrow(NetlinkInputError);
  });

  test("10,000 netns entries on libuv's pool (socket and TAP opens) leave every thread in its own netns", async () => {
    const before = threadNetns();
    const own = readlinkSync("/proc/self/ns/net");
    expect(new Set(before)).toEqual(new Set([own]));
    const a = await createNetns(uniqueName("nsa"));
    const b = await createNetns(uniqueName("nsb"));
    try {
      // Every Rtnl.open and openTap enters its netns on a pool thread and leaves it again: 9,800
      // socket opens and 200 TAP opens = 10,000 entries, 100 at a time, alternating namespaces.
      let entries = 0;
      for (let batch = 0; batch < 100; batch++) {
        const ops: Promise<unknown>[] = [];
        for (let i = 0; i < 100; i++) {
          const path = (batch * 100 + i) % 2 === 0 ? a.path : b.path;
          ops.push(
            i < 2
              ? openTap({ netns: path }).then((t) => t.close())
              : Rtnl.open({ netns: path }).then(async (r) => {
                  if (i % 25 === 0) expect((await r.links.get(1)).name).toBe("lo");
                  r.close();
                }),
          );
          entries++;
        }
        await Promise.all(ops);
      }
      expect(entries).toBe(10_000);
      // A failing open (missing netns) must also return to the original netns.
      await expect(Rtnl.open({ netns: "/run/netns/missing" })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(openTap({ netns: "/run/netns/missing" })).rejects.toMatchObject({ code: "ENOENT" });
      const after = threadNetns();
      expect(after.length).toBeGreaterThan(1); // the pool's threads are there and were checked
      expect(new Set(after)).toEqual(new Set([own]));
      expect(readlinkSync("/proc/self/ns/net")).toBe(own);
    } finally {
      await deleteNetns(a.name);
      await deleteNetns(b.name);
    }
  });

  test("no fd leaks over 10,000 open/close cycles of sockets and TAPs", async () => {
    const ns = await createNetns(uniqueName("nsf"));
    try {
      const count = () => readdirSync("/proc/self/fd").length;
      // warm up lazily created fds (addon load, libuv internals)
      (await Rtnl.open({ netns: ns.path })).close();
      const before = count();
      for (let i = 0; i < 10_000; i++) {
        const r = await Rtnl.open({ netns: ns.path });
        if (i % 10 === 0) await r.links.get(1);
        r.close();
        if (i % 20 === 0) await (await openTap({ netns: ns.path, queues: 2 })).close();
      }
      // closes are immediate unless a send is in flight; give the loop a turn
      await new Promise((r) => setTimeout(r, 50));
      expect(count()).toBe(before);
    } finally {
      await deleteNetns(ns.name);
    }
  });
});
