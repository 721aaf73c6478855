// Bad input fails before anything is sent, with one TcInputError naming the field at fault.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TcInputError } from "../src/errors.js";
import { applyQos } from "../src/index.js";
import { Tc } from "../src/tc.js";

async function inputError(p: Promise<unknown>): Promise<TcInputError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TcInputError) return e;
    throw e;
  }
  throw new Error("expected a TcInputError");
}

describe("QoS specs", () => {
  // Validation runs before a socket is opened: no namespace, no privileges needed.
  const cases: [string, object, string][] = [
    [
      "correlation without loss",
      { lossCorrelation: "25%" },
      'qos.lossCorrelation: needs "loss" to correlate with',
    ],
    [
      "delay correlation without jitter",
      { delay: "10ms", delayCorrelation: "10%" },
      'qos.delayCorrelation: needs "jitter" to correlate with',
    ],
    ["jitter without delay", { jitter: "5ms" }, 'qos.jitter: needs "delay" to correlate with'],
    [
      "duplicate correlation alone",
      { duplicateCorrelation: "5%" },
      'qos.duplicateCorrelation: needs "duplicate" to correlate with',
    ],
    [
      "reorder correlation alone",
      { reorderCorrelation: "5%" },
      'qos.reorderCorrelation: needs "reorder" to correlate with',
    ],
    [
      "corrupt correlation alone",
      { corruptCorrelation: "5%" },
      'qos.corruptCorrelation: needs "corrupt" to correlate with',
    ],
    [
      "loss correlation with a loss model",
      { loss: { model: "state", p13: "1%" }, lossCorrelation: "5%" },
      'qos.lossCorrelation: applies to random loss only (give "correlation" inside a random loss model)',
    ],
    ["rate 0", { rate: "0mbit" }, "qos.rate: must be greater than 0"],
    ["rate 0 as a number", { rate: 0 }, "qos.rate: must be greater than 0"],
    ["burst 0", { rate: "10mbit", burst: 0 }, "qos.burst: must be greater than 0"],
    ["burst without rate", { burst: "32kb" }, 'qos.burst: needs "rate"'],
    ["peakrate without mtu", { rate: "10mbit", peakrate: "20mbit" }, 'qos.mtu: is required with "peakrate"'],
    [
      "peakrate below rate",
      { rate: "10mbit", peakrate: "5mbit", mtu: 1500 },
      'qos.peakrate: must be greater than "rate"',
    ],
    [
      "reorder without delay",
      { reorder: "10%" },
      'qos.reorder: needs a "delay" (reordering works by delaying the others)',
    ],
    ["gap without reorder", { delay: "10ms", gap: 5 }, 'qos.gap: needs "reorder"'],
    ["ecn without loss", { ecn: true }, 'qos.ecn: needs a "loss"'],
    [
      "distribution without jitter",
      { delay: "10ms", distribution: "normal" },
      'qos.distribution: needs both "delay" and "jitter"',
    ],
    ["loss over 100%", { loss: "150%" }, 'qos.loss: "150%" must be between 0% and 100%'],
    [
      "loss model without its probability",
      { loss: { model: "gemodel" } },
      'qos.loss.p: expected a percentage such as "1%" or a number 0-100',
    ],
    [
      "unknown loss model",
      { loss: { model: "burst", p: "1%" } },
      "qos.loss.model: Invalid discriminator value. Expected 'random' | 'state' | 'gemodel'",
    ],
    [
      "unknown unit",
      { rate: "10mbs" },
      'qos.rate: "10mbs" has an unknown unit "mbs" (use bit, kbit, mbit, gbit, tbit, kibit, ... for bits/s or Bps, KBps, MBps, GBps, KiBps, ... for bytes/s)',
    ],
    [
      "time with a bad unit",
      { delay: "10 minutes" },
      'qos.delay: "10 minutes" has an unknown unit " minutes" (use s, ms, us or ns)',
    ],
    ["wrong type", { delay: true }, 'qos.delay: expected a time such as "50ms" or a number of microseconds'],
    ["unknown option", { bandwidth: "10mbit" }, 'qos: unknown option(s) "bandwidth"'],
    [
      "ingress without rate",
      { ingress: {} },
      'qos.ingress.rate: expected a rate such as "10mbit" or a number of bytes per second',
    ],
    [
      "ifb name too long",
      { ingress: { rate: "1mbit", ifb: "a-very-long-ifb-name" } },
      "qos.ingress.ifb: must be 1-15 bytes",
    ],
    ["slot max below min", { slot: { min: "2ms", max: "1ms" } }, 'qos.slot.max: must not be less than "min"'],
  ];
  for (const [what, spec, message] of cases) {
    test(what, async () => {
      const e = await inputError(applyQos("nonexistent0", spec as never, { netns: "/nonexistent" }));
      expect(e.message).toBe(message);
      expect(e.field).toBe(message.slice(0, message.indexOf(":")));
    });
  }
});

describe("Tc specs", () => {
  let tc: Tc;
  beforeAll(async () => {
    tc = await Tc.open();
  });
  afterAll(() => tc.close());

  test.each([
    [
      "unknown kind",
      () => tc.qdiscs.add(1, { kind: "cake" } as never),
      /^qdisc\.kind: "cake" is not a qdisc kind this package writes \(netem, tbf, htb, ingress, clsact, pfifo, bfifo, sfq, fq_codel\)$/,
    ],
    [
      "tbf without latency or limit",
      () => tc.qdiscs.add(1, { kind: "tbf", rate: "1mbit", burst: "10kb" }),
      /^qdisc\.latency: give "latency" or "limit"/,
    ],
    [
      "tbf with both",
      () => tc.qdiscs.add(1, { kind: "tbf", rate: "1mbit", burst: "10kb", latency: "1ms", limit: 1000 }),
      /^qdisc\.limit: give "latency" or "limit", not both/,
    ],
    [
      "tbf burst 0",
      () => tc.qdiscs.add(1, { kind: "tbf", rate: "1mbit", burst: "0kb", latency: "1ms" }),
      /^qdisc\.burst: must be greater than 0/,
    ],
    [
      "bad handle",
      () => tc.qdiscs.add(1, { kind: "pfifo", handle: "1:2:3" }),
      /^qdisc\.handle: "1:2:3" is not a handle/,
    ],
    [
      "class handle on a qdisc",
      () => tc.qdiscs.add(1, { kind: "pfifo", handle: "1:10" }),
      /^qdisc\.handle: "1:10" is not a qdisc handle/,
    ],
    [
      "ingress elsewhere",
      () => tc.qdiscs.add(1, { kind: "ingress", parent: "root" }),
      /^qdisc\.parent: the ingress qdisc always sits at "ingress"/,
    ],
    [
      "htb ceil below rate",
      () => tc.classes.add(1, { kind: "htb", classid: "1:10", rate: "10mbit", ceil: "5mbit" }),
      /^class\.ceil: must not be less than "rate"/,
    ],
    [
      "class without minor",
      () => tc.classes.add(1, { kind: "htb", classid: "1:", rate: "10mbit" }),
      /^class\.classid: "1:" is not a class id/,
    ],
    [
      "filter without matches",
      () => tc.filters.add(1, { kind: "u32", parent: "ffff:" }),
      /^filter\.match: give at least one match/,
    ],
    [
      "match and matchAll",
      () =>
        tc.filters.add(1, {
          kind: "u32",
          parent: "ffff:",
          matchAll: true,
          match: [{ match: "u8", value: 1 }],
        }),
      /^filter\.matchAll: give "matchAll" or "match", not both/,
    ],
    [
      "bad prefix",
      () =>
        tc.filters.add(1, {
          kind: "u32",
          parent: "1:",
          match: [{ match: "ip.dst", value: "10.0.0.0/33" }],
          classid: "1:1",
        }),
      /^filter\.match\.0: bad prefix length/,
    ],
    [
      "u8 value too wide",
      () =>
        tc.filters.add(1, {
          kind: "u32",
          parent: "1:",
          match: [{ match: "u8", value: 300 }],
          classid: "1:1",
        }),
      /^filter\.match\.0: value and mask must fit 8 bits/,
    ],
    [
      "bad mirred",
      () =>
        tc.filters.add(1, {
          kind: "u32",
          parent: "ffff:",
          matchAll: true,
          actions: [{ kind: "mirred", action: "teleport", dev: 2 } as never],
        }),
      /^filter\.actions\.0\.action: must be one of "redirect", "mirror"/,
    ],
    [
      "unknown protocol",
      () => tc.filters.add(1, { kind: "u32", parent: "ffff:", protocol: "ipx" as never, matchAll: true }),
      /^filter\.protocol: unknown protocol "ipx"/,
    ],
    [
      "filter handle without kind on delete",
      () => tc.filters.delete(1, { parent: "ffff:", handle: "800::800" }),
      /^filter\.kind: is required with "handle"/,
    ],
    [
      "netem slot jitter 0",
      () => tc.qdiscs.add(1, { kind: "netem", slot: { distribution: "normal", delay: "1ms", jitter: 0 } }),
      /^qdisc\.slot\.jitter: must be greater than 0/,
    ],
    [
      "missing distribution file",
      () => tc.qdiscs.add(1, { kind: "netem", delay: "10ms", jitter: "1ms", distribution: "nosuchdist" }),
      /^distribution: no distribution table "nosuchdist"/,
    ],
    [
      "link name too long (altnames reach 127 bytes)",
      () => tc.qdiscs.add("x".repeat(128), { kind: "pfifo" }),
      /^link: must be a name of 1-127 bytes/,
    ],
  ])("%s", async (_what, run, message) => {
    const e = await inputError(run() as Promise<unknown>);
    expect(e.message).toMatch(message);
  });
});

describe("parsing is remembered by the spec's text", () => {
  test("identical specs parse once (same result object); failures are never remembered", async () => {
    const { check } = await import("../src/validate.js");
    const { qosSchema } = await import("../src/qos/schema.js");
    const a = check(qosSchema, { rate: "10mbit", latency: "20ms" }, "qos");
    const b = check(qosSchema, { rate: "10mbit", latency: "20ms" }, "qos");
    expect(b).toBe(a);
    expect(a).toMatchObject({ rate: 1_250_000 });
    expect(check(qosSchema, { rate: "20mbit" }, "qos")).not.toBe(a);
    for (let i = 0; i < 2; i++)
      expect(() => check(qosSchema, { rate: "10mbs" }, "qos")).toThrow(/^qos\.rate: /);
  });
});
