// A caller that starts many operations at once gets them done through a window: a connection
// lets new callers go only while fewer than 128 of its requests wait for the kernel. Without it
// every operation's requests, promises and suspended frames lived until the kernel reached it,
// and each young-generation collection of a 1000-link storm copied and promoted all of them
// (the long pauses behind the storm's event-loop p99).
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { parseAttrs } from "../src/codec/attrs.js";
import * as C from "../src/codec/constants.js";
import { parseMessages } from "../src/codec/message.js";
import { NetlinkClosedError, NetlinkInputError, Rtnl } from "../src/index.js";

const WINDOW = 128;
/** Callers let go in the same turn as the window filled (the pacer's per-turn slice). */
const SLACK = 64;

/**
 * Records, each time the connection sends, its requests the kernel has not answered (queued,
 * sent: what the window limits) and all it has pending (answers received but not yet dispatched
 * too), and the addresses it adds.
 */
function watchInFlight(rtnl: Rtnl): { max: () => number; maxPending: () => number; added: string[] } {
  const conn = rtnl.links.conn as unknown as { pending: Map<number, unknown>; answersWaiting: number };
  const socket = rtnl.links.conn.netlinkSocket;
  const send = socket.send.bind(socket);
  let max = 0;
  let maxPending = 0;
  const added: string[] = [];
  socket.send = (data: Buffer, readAfter?: boolean, segments?: Uint32Array) => {
    max = Math.max(max, conn.pending.size - conn.answersWaiting);
    maxPending = Math.max(maxPending, conn.pending.size);
    for (const m of parseMessages(data)) {
      if (m.type !== C.RTM_NEWADDR) continue;
      const local = parseAttrs(m.body.subarray(8)).find((a) => a.type === C.IFA_LOCAL);
      if (local) added.push([...local.data].join("."));
    }
    return send(data, readAfter, segments);
  };
  return { max: () => max, maxPending: () => maxPending, added };
}

describePrivileged("in-flight window", () => {
  test("1000 operations started at once all succeed with at most the window in flight", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const { index } = await rtnl.links.add({ kind: "veth", name: "d0", peer: { name: "d1" } });
      const watch = watchInFlight(rtnl);
      const ips = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
      const results = await Promise.allSettled(ips.map((ip) => rtnl.addresses.add(index, `${ip}/32`)));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      // Held or not, the requests went out in the order of the calls.
      expect(watch.added).toEqual(ips);
      expect((await rtnl.addresses.list()).filter((a) => a.address.startsWith("10.")).length).toBe(1000);
      console.log(`most requests in flight at a send: ${watch.max()} (pending: ${watch.maxPending()})`);
      expect(watch.max()).toBeGreaterThan(0);
      expect(watch.max()).toBeLessThanOrEqual(WINDOW + SLACK);
      expect(watch.maxPending()).toBeLessThanOrEqual(2 * WINDOW + SLACK);
      // Every answer counted on arrival was counted off again when dispatched: no drift.
      const conn = rtnl.links.conn as unknown as { answersWaiting: number; pending: Map<number, unknown> };
      expect(conn.pending.size).toBe(0);
      expect(conn.answersWaiting).toBe(0);
    } finally {
      rtnl.close();
    }
  });

  test("callers refused before any request (bad input) do not keep held callers waiting", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "d0", peer: { name: "d1" } });
      // Every other caller is refused by validation and never makes a request.
      const calls = Array.from({ length: 600 }, (_, i) =>
        i % 2 === 0
          ? rtnl.addresses.add("d0", `10.1.${i >> 8}.${i & 255}/32`)
          : rtnl.addresses.add("d0", "not an address"),
      );
      const settled = await Promise.allSettled(calls);
      settled.forEach((r, i) => {
        if (i % 2 === 0) expect(r.status, String(i)).toBe("fulfilled");
        else expect(r.status === "rejected" && r.reason instanceof NetlinkInputError, String(i)).toBe(true);
      });
      // Only refused callers while the window is full: they still end, and the handle goes on.
      const refused = await Promise.allSettled(
        Array.from({ length: 300 }, () => rtnl.addresses.add("d0", "not an address")),
      );
      expect(refused.every((r) => r.status === "rejected")).toBe(true);
      await rtnl.addresses.add("d0", "10.9.9.9/32");
    } finally {
      rtnl.close();
    }
  });

  test("closing the handle ends held callers with NetlinkClosedError", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    await rtnl.links.add({ kind: "veth", name: "d0", peer: { name: "d1" } });
    const calls = Array.from({ length: 800 }, (_, i) =>
      rtnl.addresses.add("d0", `10.2.${i >> 8}.${i & 255}/32`).then(
        () => "done",
        (e: unknown) => (e instanceof NetlinkClosedError ? "closed" : e),
      ),
    );
    // Close once the first answers are in: most callers are still held by then.
    await calls[0];
    rtnl.close();
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => o === "done" || o === "closed")).toBe(true);
    expect(outcomes.filter((o) => o === "closed").length).toBeGreaterThan(500);
  });
});
