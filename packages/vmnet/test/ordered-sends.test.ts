// A server's sends are reported in the order they were sent, whatever order the pool completes
// them in (a REPLY's completion can come back before the ADVERTISE's it follows).
import { describe, expect, test } from "vitest";
import { OrderedSends } from "../src/dhcp/ordered-sends.js";

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("OrderedSends", () => {
  test("a later send completing first is reported after the earlier one", async () => {
    const sends = new OrderedSends();
    const seen: string[] = [];
    const advertise = deferred();
    const reply = deferred();
    sends.add(
      advertise.promise,
      () => seen.push("advertise"),
      () => seen.push("advertise failed"),
    );
    sends.add(
      reply.promise,
      () => seen.push("reply"),
      () => seen.push("reply failed"),
    );
    reply.resolve();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    advertise.resolve();
    await sends.settled();
    expect(seen).toEqual(["advertise", "reply"]);
  });

  test("a failure while an earlier send is out is not unhandled, and is reported in its place", async () => {
    const sends = new OrderedSends();
    const seen: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const first = deferred();
      const second = deferred();
      sends.add(
        first.promise,
        () => seen.push("first"),
        () => seen.push("first failed"),
      );
      sends.add(
        second.promise,
        () => seen.push("second"),
        (e) => seen.push(`second failed: ${e.message}`),
      );
      second.reject(new Error("ENOBUFS"));
      await new Promise((r) => setTimeout(r, 20));
      first.resolve();
      await sends.settled();
      expect(seen).toEqual(["first", "second failed: ENOBUFS"]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("a callback that throws does not stop the sends behind it", async () => {
    const sends = new OrderedSends();
    const seen: string[] = [];
    sends.add(
      Promise.resolve(),
      () => {
        throw new Error("handler bug");
      },
      () => undefined,
    );
    sends.add(
      Promise.resolve(),
      () => seen.push("next"),
      () => undefined,
    );
    await sends.settled();
    expect(seen).toEqual(["next"]);
  });
});
