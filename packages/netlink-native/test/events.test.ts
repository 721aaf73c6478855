// Event subscriptions: a bounded queue whose overflow is answered by a resync (and counted), and
// a resync that is never followed by events older than it.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { NetlinkInputError, Rtnl, type RtnlEvent } from "../src/index.js";

/** Applies link events in order to a set of names, as a consumer keeping a replica would. */
function applyLinks(model: Set<string>, e: RtnlEvent): void {
  if (e.kind === "resync") {
    model.clear();
    for (const l of e.links) model.add(l.name);
  } else if (e.kind === "link") {
    if (e.action === "new") model.add(e.link.name);
    else model.delete(e.link.name);
  }
}

async function nextEvent(it: AsyncIterator<RtnlEvent>): Promise<RtnlEvent> {
  const r = await it.next();
  if (r.done) throw new Error("subscription ended");
  return r.value;
}

describePrivileged("event subscriptions", () => {
  test("a consumer that does not read is bounded: overflow drops the queue and resyncs", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    const sub = rtnl.events(["link"], { maxQueued: 50 });
    try {
      let peak = 0;
      for (let i = 0; i < 300; i++) {
        await rtnl.links.add({ kind: "ifb", name: `q${i}` });
        peak = Math.max(peak, sub.queued);
      }
      expect(peak).toBeLessThanOrEqual(50);
      expect(sub.stats.overflows).toBeGreaterThan(0);
      // Drain: the replica built from what the subscription hands out equals the kernel's view.
      const model = new Set<string>();
      let sawResync: Extract<RtnlEvent, { kind: "resync" }> | undefined;
      await rtnl.links.add({ kind: "ifb", name: "end0" });
      for (;;) {
        const e = await nextEvent(sub);
        if (e.kind === "resync") sawResync = e;
        applyLinks(model, e);
        if (e.kind === "link" && e.link.name === "end0") break;
        if (e.kind === "resync" && e.links.some((l) => l.name === "end0")) break;
      }
      expect(sawResync?.reason).toBe("overflow");
      expect(sawResync?.dropped).toBeGreaterThan(0);
      expect(sub.stats.dropped).toBeGreaterThan(0);
      const kernel = new Set((await rtnl.links.list()).map((l) => l.name));
      expect(model).toEqual(kernel);
    } finally {
      sub.close();
      rtnl.close();
    }
  });

  test("events received while a resync dump runs are delivered after it, never before", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    // The resync's dump is held open until the test has made a change the dump cannot contain.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let dumped: () => void = () => undefined;
    const dumpDone = new Promise<void>((r) => {
      dumped = r;
    });
    const real = rtnl.snapshot.bind(rtnl);
    rtnl.snapshot = async () => {
      const s = await real();
      dumped();
      await held;
      return s;
    };
    const sub = rtnl.events(["link"], { maxQueued: 8 });
    try {
      // Just enough changes to overflow the queue once (each ifb add brings one or two events).
      for (let i = 0; sub.stats.overflows === 0; i++) await rtnl.links.add({ kind: "ifb", name: `a${i}` });
      await dumpDone;
      await rtnl.links.add({ kind: "ifb", name: "late0" }); // newer than the snapshot
      await new Promise((r) => setTimeout(r, 100)); // its event has arrived (held)
      release();
      const model = new Set<string>();
      const seen: string[] = [];
      for (;;) {
        const e = await nextEvent(sub);
        seen.push(e.kind === "resync" ? "resync" : e.kind === "link" ? `${e.action} ${e.link.name}` : e.kind);
        applyLinks(model, e);
        if (e.kind === "link" && e.link.name === "late0") break;
      }
      // The resync (without late0) comes first; late0's event after it: the replica has late0.
      expect(seen.indexOf("resync")).toBeGreaterThanOrEqual(0);
      expect(seen.indexOf("resync")).toBeLessThan(seen.indexOf("new late0"));
      expect(model.has("late0")).toBe(true);
      expect(model).toEqual(new Set((await rtnl.links.list()).map((l) => l.name)));
    } finally {
      release();
      sub.close();
      rtnl.close();
    }
  });

  test("bad subscription options are input errors", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      expect(() => rtnl.events(["link"], { maxQueued: 0 })).toThrow(NetlinkInputError);
      // @ts-expect-error: not a kind
      expect(() => rtnl.events(["links"])).toThrow(NetlinkInputError);
    } finally {
      rtnl.close();
    }
  });
});
