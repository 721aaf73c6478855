// Where the kernel's work for a dump runs. A netlink dump's first chunk is built inside the
// request's sendmsg() (on libuv's pool), every later one inside a recvfrom() of the answers
// (netlink_recvmsg calls netlink_dump), under locks that other work on the machine may hold. Read
// on the event loop, a 2000-link dump held it 20-90 ms in one wake-up; the request engine reads
// the socket on the pool while a dump is in flight. strace shows which thread made each call.
import { readdirSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { NetlinkClosedError, Rtnl } from "../src/index.js";
import { traceCalls } from "./strace.js";

describePrivileged("where a dump's kernel work runs", () => {
  test("a 2001-link dump is read on libuv's pool: no multipart recvfrom() on the event-loop thread (strace)", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.addMany(
        Array.from({ length: 1000 }, (_, i) => ({
          kind: "veth" as const,
          name: `a${i}`,
          peer: { name: `b${i}` },
        })),
      );
      let listed = 0;
      let acked = 0;
      const lines = await traceCalls(async () => {
        // A dump and plain requests at once: the answers to both arrive while the dump runs.
        const [links] = await Promise.all([
          rtnl.links.list(),
          ...Array.from({ length: 20 }, (_, i) =>
            rtnl.links.set(`a${i}`, { mtu: 1400 }).then(() => {
              acked++;
            }),
          ),
        ]);
        listed = links.length;
      });
      expect(listed).toBe(2001);
      expect(acked).toBe(20);
      const multipart = lines.filter((l) => /^\d+\s+recvfrom\(/.test(l) && l.includes("NLM_F_MULTI"));
      const byThread = new Map<string, number>();
      for (const l of multipart) {
        const tid = l.split(/\s+/)[0] as string;
        byThread.set(tid, (byThread.get(tid) ?? 0) + 1);
      }
      console.log(
        `multipart receives by thread (event loop is ${process.pid}): ${JSON.stringify(Object.fromEntries(byThread))}`,
      );
      // ~2000 links of ~1 KiB in chunks of at most 32 KiB: dozens of receives, all on the pool.
      expect(multipart.length).toBeGreaterThan(20);
      expect(byThread.get(String(process.pid)) ?? 0).toBe(0);
      // The loop still reads answers to plain requests itself once no dump is in flight.
      const after = await traceCalls(async () => {
        await rtnl.links.set("a0", { mtu: 1500 });
      });
      const loopReads = after.filter((l) => l.startsWith(`${process.pid} `) && /recvfrom\(/.test(l));
      expect(loopReads.length).toBeGreaterThan(0);
    } finally {
      rtnl.close();
    }
  });

  test("dumps made together go out in one pool job, each read to its end before the next (strace)", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "dp0", peer: { name: "dp1" }, up: true });
      await rtnl.addresses.add("dp0", "10.9.9.1/24");
      const alone = {
        links: (await rtnl.links.list()).map((l) => l.name),
        addresses: (await rtnl.addresses.list()).map((a) => `${a.index} ${a.cidr}`),
        routes: (await rtnl.routes.list({ table: 0 })).length,
      };
      let together: typeof alone | undefined;
      const lines = await traceCalls(async () => {
        const [links, addresses, routes] = await Promise.all([
          rtnl.links.list(),
          rtnl.addresses.list(),
          rtnl.routes.list({ table: 0 }),
        ]);
        together = {
          links: links.map((l) => l.name),
          addresses: addresses.map((a) => `${a.index} ${a.cidr}`),
          routes: routes.length,
        };
      }, "sendto,recvfrom");
      // Each kind of dump got its answer whole, as when asked for alone.
      expect(together).toEqual(alone);
      const sends = lines.filter((l) => /^\d+\s+sendto\(/.test(l));
      // Three requests, one sendto() each, all by the same pool thread; none refused (EBUSY) and
      // sent again: each dump was read to its end, by that thread, before the next went out.
      expect(sends).toHaveLength(3);
      const tids = new Set(sends.map((l) => l.split(/\s+/)[0]));
      expect(tids.size).toBe(1);
      expect(tids.has(String(process.pid))).toBe(false);
      expect(lines.some((l) => l.includes("EBUSY"))).toBe(false);
      const [tid] = [...tids] as [string];
      for (const [i, send] of sends.entries()) {
        const from = lines.indexOf(send);
        const until = i + 1 < sends.length ? lines.indexOf(sends[i + 1] as string) : lines.length;
        const done = lines
          .slice(from + 1, until)
          .some((l) => l.startsWith(`${tid} `) && l.includes("NLMSG_DONE"));
        expect(done, `the dump sent by ${send} ends before the next send`).toBe(true);
      }
      expect(lines.some((l) => l.startsWith(`${process.pid} `) && l.includes("NLM_F_MULTI"))).toBe(false);
    } finally {
      rtnl.close();
    }
  });

  test("closing a connection while its dump is read on the pool rejects the dump and leaks no fd", async ({
    netns,
  }) => {
    const setup = await Rtnl.open({ netns: netns.name });
    try {
      await setup.links.addMany(
        Array.from({ length: 500 }, (_, i) => ({
          kind: "veth" as const,
          name: `c${i}`,
          peer: { name: `d${i}` },
        })),
      );
    } finally {
      setup.close();
    }
    const fds = () => readdirSync("/proc/self/fd").length;
    // Warm: the first open loads the addon and creates libuv's pool threads.
    (await Rtnl.open({ netns: netns.name })).close();
    await new Promise((r) => setTimeout(r, 50));
    const before = fds();
    for (let i = 0; i < 50; i++) {
      const rtnl = await Rtnl.open({ netns: netns.name });
      const listing = rtnl.links.list();
      // Close at different points of the dump: before, during and after pool receives.
      await new Promise((r) => (i % 3 === 0 ? setImmediate(r) : setTimeout(r, i % 5)));
      rtnl.close();
      const r = await listing.then(
        (links) => ({ links }),
        (e: unknown) => ({ e }),
      );
      if ("e" in r) expect(r.e).toBeInstanceOf(NetlinkClosedError);
      else expect(r.links.length).toBe(1001);
    }
    // A pool receive in flight closes the fd when it is done.
    await new Promise((r) => setTimeout(r, 200));
    expect(fds()).toBe(before);
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      expect((await rtnl.links.list()).length).toBe(1001);
    } finally {
      rtnl.close();
    }
  });
});
