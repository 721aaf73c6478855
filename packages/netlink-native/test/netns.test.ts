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
      deleteNetns(name);
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
    expect(() => deleteNetns("../etc")).toThrow(NetlinkInputError);
  });

  test("10,000 operations in other namespaces leave every thread of this process in its own netns", async () => {
    const before = threadNetns();
    const own = readlinkSync("/proc/self/ns/net");
    expect(new Set(before)).toEqual(new Set([own]));
    const a = await createNetns(uniqueName("nsa"));
    const b = await createNetns(uniqueName("nsb"));
    try {
      const handles = [await Rtnl.open({ netns: a.path }), await Rtnl.open({ netns: b.path })];
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 10_000; i++) {
        const h = handles[i % 2] as Rtnl;
        ops.push(
          i % 100 === 0
            ? Rtnl.open({ netns: i % 200 === 0 ? a.path : b.path }).then((r) => r.close())
            : h.links.get(1),
        );
        // TAPs open on libuv's pool threads, which enter and leave the netns there.
        if (i % 100 === 99)
          ops.push(openTap({ netns: i % 200 === 99 ? a.path : b.path }).then((t) => t.close()));
      }
      await Promise.all(ops);
      for (const h of handles) h.close();
      // A failing open (missing netns) must also return to the original netns.
      await expect(Rtnl.open({ netns: "/run/netns/missing" })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(openTap({ netns: "/run/netns/missing" })).rejects.toMatchObject({ code: "ENOENT" });
      const after = threadNetns();
      expect(new Set(after)).toEqual(new Set([own]));
      expect(readlinkSync("/proc/self/ns/net")).toBe(own);
    } finally {
      deleteNetns(a.name);
      deleteNetns(b.name);
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
        if (i % 20 === 0) (await openTap({ netns: ns.path, queues: 2 })).close();
      }
      // closes are immediate unless a send is in flight; give the loop a turn
      await new Promise((r) => setTimeout(r, 50));
      expect(count()).toBe(before);
    } finally {
      deleteNetns(ns.name);
    }
  });
});
