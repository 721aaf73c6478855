// netem: delay, jitter, loss (random, 4-state and Gilbert-Elliott), duplication, reordering,
// corruption, rate, slots and delay distributions. Its TCA_OPTIONS is not a plain nest: it starts
// with struct tc_netem_qopt and continues with TCA_NETEM_* attributes. Requests match tc 6.x's
// bytes (32-bit ticks in the qopt); delays too long for 32-bit ticks also get the 64-bit
// TCA_NETEM_LATENCY64/JITTER64 attributes, which the kernel prefers (tc 6.1 refuses such delays).
import { type AttrWriter, parseAttrs, type RawAttr } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { type Distribution, distributionSchema, loadDistribution } from "../netem-dist.js";
import { type Psched, ticksToTime, timeTooBigForTicks, timeToTicks } from "../psched.js";
import { type Duration, type Percent, probabilityToU32, u32ToPercent } from "../units.js";
import { percent, positiveRate, s32, size, time, u32 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

const lossModel = z.discriminatedUnion("model", [
  z
    .object({
      /** Independent random loss (tc's "loss random P [CORR]"). */
      model: z.literal("random"),
      probability: percent,
      correlation: percent.optional(),
    })
    .strict(),
  z
    .object({
      /** 4-state Markov model (tc's "loss state P13 [P31 [P32 [P23 P14]]]"). */
      model: z.literal("state"),
      p13: percent,
      p31: percent.optional(),
      p32: percent.optional(),
      p23: percent.optional(),
      p14: percent.optional(),
    })
    .strict(),
  z
    .object({
      /** Gilbert-Elliott model (tc's "loss gemodel P [R [1-H [1-K]]]"). */
      model: z.literal("gemodel"),
      /** Probability of moving from the good to the bad state. */
      p: percent,
      /** Probability of moving from the bad to the good state (default 1 - p). */
      r: percent.optional(),
      /** Loss probability in the bad state, tc's "1-h" (default 100%). */
      lossInBad: percent.optional(),
      /** Loss probability in the good state, tc's "1-k" (default 0%). */
      lossInGood: percent.optional(),
    })
    .strict(),
]);

/** A percentage for random loss, or a model object: each reported with its own field errors. */
const lossSchema = z.unknown().transform((v, ctx) => {
  const r = typeof v === "object" && v !== null ? lossModel.safeParse(v) : percent.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    ctx.addIssue({ code: "custom", message: issue.message, path: issue.path as (string | number)[] });
  }
  return z.NEVER;
}) as unknown as z.ZodType<number | z.output<typeof lossModel>, Percent | z.input<typeof lossModel>>;

const slotSchema = z.union([
  z
    .object({
      /** Each slot lasts between min and max (tc's "slot MIN [MAX]"). */
      min: time,
      max: time.optional(),
      packets: s32.optional(),
      bytes: size.optional(),
    })
    .strict(),
  z
    .object({
      /** Slot lengths drawn from a distribution (tc's "slot distribution NAME DELAY JITTER"). */
      distribution: distributionSchema,
      delay: time,
      jitter: time,
      packets: s32.optional(),
      bytes: size.optional(),
    })
    .strict(),
]);

/** netem's fields, shared with the QoS spec (which adds tbf's). */
export const netemShape = {
  /** Queue limit in packets (default 1000). */
  limit: u32.optional(),
  delay: time.optional(),
  jitter: time.optional(),
  delayCorrelation: percent.optional(),
  /** Jitter distribution: a tc .dist name ("normal", "pareto", "paretonormal", ...) or a table. */
  distribution: distributionSchema.optional(),
  /** Random loss ("1%"), or a loss model. */
  loss: lossSchema.optional(),
  lossCorrelation: percent.optional(),
  /** Mark packets with ECN instead of dropping them (needs a loss). */
  ecn: z.boolean().optional(),
  duplicate: percent.optional(),
  duplicateCorrelation: percent.optional(),
  reorder: percent.optional(),
  reorderCorrelation: percent.optional(),
  /** Reorder every gap-th packet (needs reorder and delay; default 1 when reordering). */
  gap: u32.optional(),
  corrupt: percent.optional(),
  corruptCorrelation: percent.optional(),
  rate: positiveRate.optional(),
  packetOverhead: s32.optional(),
  cellSize: u32.optional(),
  cellOverhead: s32.optional(),
  slot: slotSchema.optional(),
};

type NetemShapeOutput = { [K in keyof typeof netemShape]?: z.output<(typeof netemShape)[K]> };

/** The combinations tc refuses (or silently ignores), reported on the field at fault. */
export function refineNetem(o: NetemShapeOutput, ctx: z.RefinementCtx): void {
  const need = (field: string, present: boolean, base: string, what = base) => {
    if (present)
      ctx.addIssue({ code: "custom", path: [field], message: `needs "${what}" to correlate with` });
  };
  need("jitter", o.jitter !== undefined && o.delay === undefined, "delay");
  need("delayCorrelation", o.delayCorrelation !== undefined && o.jitter === undefined, "jitter");
  const randomLoss = typeof o.loss === "number";
  if (o.lossCorrelation !== undefined && !randomLoss) {
    ctx.addIssue({
      code: "custom",
      path: ["lossCorrelation"],
      message:
        o.loss === undefined
          ? 'needs "loss" to correlate with'
          : 'applies to random loss only (give "correlation" inside a random loss model)',
    });
  }
  need(
    "duplicateCorrelation",
    o.duplicateCorrelation !== undefined && o.duplicate === undefined,
    "duplicate",
  );
  need("reorderCorrelation", o.reorderCorrelation !== undefined && o.reorder === undefined, "reorder");
  need("corruptCorrelation", o.corruptCorrelation !== undefined && o.corrupt === undefined, "corrupt");
  if (o.reorder !== undefined && o.reorder > 0 && (o.delay === undefined || o.delay.nsec === 0))
    ctx.addIssue({
      code: "custom",
      path: ["reorder"],
      message: 'needs a "delay" (reordering works by delaying the others)',
    });
  if (o.gap !== undefined && o.gap > 0 && !(o.reorder !== undefined && o.reorder > 0))
    ctx.addIssue({ code: "custom", path: ["gap"], message: 'needs "reorder"' });
  if (o.ecn && o.loss === undefined)
    ctx.addIssue({ code: "custom", path: ["ecn"], message: 'needs a "loss"' });
  if (
    o.distribution !== undefined &&
    o.distribution !== "uniform" &&
    (o.delay === undefined || o.delay.nsec === 0 || o.jitter === undefined || o.jitter.nsec === 0)
  )
    ctx.addIssue({ code: "custom", path: ["distribution"], message: 'needs both "delay" and "jitter"' });
  for (const f of ["packetOverhead", "cellSize", "cellOverhead"] as const)
    if (o[f] !== undefined && o.rate === undefined)
      ctx.addIssue({ code: "custom", path: [f], message: 'needs "rate"' });
  if (o.slot && "min" in o.slot && o.slot.max !== undefined && o.slot.max.nsec < o.slot.min.nsec)
    ctx.addIssue({ code: "custom", path: ["slot", "max"], message: 'must not be less than "min"' });
  if (o.slot && "jitter" in o.slot && o.slot.jitter.nsec <= 0)
    ctx.addIssue({ code: "custom", path: ["slot", "jitter"], message: "must be greater than 0" });
}

export const netemSchema = z.object(netemShape).strict().superRefine(refineNetem);

export type NetemOptions = z.input<typeof netemSchema>;
export type NetemParsed = z.output<typeof netemSchema>;

export type NetemLossInfo =
  | { model: "state"; p13: number; p31: number; p32: number; p23: number; p14: number }
  | { model: "gemodel"; p: number; r: number; lossInBad: number; lossInGood: number };

/** A netem as the kernel reports it. Times in microseconds, probabilities in percent points. */
export interface NetemInfo {
  limit: number;
  delay?: number;
  jitter?: number;
  delayCorrelation?: number;
  loss?: number | NetemLossInfo;
  lossCorrelation?: number;
  ecn?: boolean;
  duplicate?: number;
  duplicateCorrelation?: number;
  reorder?: number;
  reorderCorrelation?: number;
  gap?: number;
  corrupt?: number;
  corruptCorrelation?: number;
  rate?: number;
  packetOverhead?: number;
  cellSize?: number;
  cellOverhead?: number;
  slot?: {
    min: number;
    max: number;
    packets?: number;
    bytes?: number;
    distributionDelay?: number;
    distributionJitter?: number;
  };
}

const QOPT_LEN = C.SIZEOF_TC_NETEM_QOPT;
const P = probabilityToU32;

/** 32-bit ticks for the qopt, and whether the time needs the 64-bit attribute to be exact. */
function ticksOf(d: Duration | undefined, p: Psched): { ticks: number; wide: boolean } {
  if (!d) return { ticks: 0, wide: false };
  if (timeTooBigForTicks(d.usec, p)) return { ticks: 0xffffffff, wide: true };
  return { ticks: timeToTicks(d.usec, p), wide: false };
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32LE(v >>> 0, i * 4);
  });
  return b;
}

function slotStruct(s: NonNullable<NetemParsed["slot"]>): Buffer {
  const b = Buffer.alloc(C.SIZEOF_TC_NETEM_SLOT);
  if ("min" in s) {
    b.writeBigInt64LE(BigInt(s.min.nsec), 0);
    b.writeBigInt64LE(BigInt((s.max ?? s.min).nsec), 8);
  } else {
    b.writeBigInt64LE(BigInt(s.delay.nsec), 24);
    b.writeBigInt64LE(BigInt(s.jitter.nsec), 32);
  }
  b.writeInt32LE(s.packets ?? 0, 16);
  b.writeInt32LE((s.bytes ?? 0) | 0, 20);
  return b;
}

export function encodeNetem(w: AttrWriter, o: NetemParsed, p: Psched): void {
  const latency = ticksOf(o.delay, p);
  const jitter = ticksOf(o.jitter, p);
  const randomLoss = typeof o.loss === "number" ? o.loss : undefined;
  const model = typeof o.loss === "object" ? o.loss : undefined;
  const reordering = o.reorder !== undefined && o.reorder > 0;
  const qopt = u32s(
    latency.ticks,
    o.limit ?? 1000,
    randomLoss !== undefined ? P(randomLoss) : model?.model === "random" ? P(model.probability) : 0,
    reordering ? (o.gap ?? 1) : (o.gap ?? 0),
    o.duplicate !== undefined ? P(o.duplicate) : 0,
    jitter.ticks,
  );
  const lossCorr = o.lossCorrelation ?? (model?.model === "random" ? model.correlation : undefined);
  // tc sends TCA_NETEM_CORR whenever any correlation was given (the struct then carries the
  // delay, loss and duplicate ones; reorder and corrupt correlations live in their own structs).
  // tc 6.1 forgets to do so for a duplicate correlation alone; that one is sent here too.
  const corrPresent =
    o.delayCorrelation !== undefined ||
    lossCorr !== undefined ||
    o.duplicateCorrelation !== undefined ||
    o.reorderCorrelation !== undefined ||
    o.corruptCorrelation !== undefined;
  w.begin(C.TCA_OPTIONS);
  w.bytes(qopt);
  if (latency.wide && o.delay) w.u64(C.TCA_NETEM_LATENCY64, BigInt(o.delay.nsec));
  if (jitter.wide && o.jitter) w.u64(C.TCA_NETEM_JITTER64, BigInt(o.jitter.nsec));
  if (corrPresent) {
    w.attr(
      C.TCA_NETEM_CORR,
      u32s(
        o.delayCorrelation !== undefined ? P(o.delayCorrelation) : 0,
        lossCorr !== undefined ? P(lossCorr) : 0,
        o.duplicateCorrelation !== undefined ? P(o.duplicateCorrelation) : 0,
      ),
    );
  }
  if (o.reorder !== undefined)
    w.attr(
      C.TCA_NETEM_REORDER,
      u32s(P(o.reorder), o.reorderCorrelation !== undefined ? P(o.reorderCorrelation) : 0),
    );
  if (o.ecn) w.u32(C.TCA_NETEM_ECN, 1);
  if (o.corrupt !== undefined)
    w.attr(
      C.TCA_NETEM_CORRUPT,
      u32s(P(o.corrupt), o.corruptCorrelation !== undefined ? P(o.corruptCorrelation) : 0),
    );
  if (o.slot) w.attr(C.TCA_NETEM_SLOT, slotStruct(o.slot));
  if (model && model.model !== "random") {
    w.begin(C.TCA_NETEM_LOSS, true);
    if (model.model === "state") {
      const p13 = model.p13;
      // struct tc_netem_gimodel is p13, p31, p32, p14, p23; tc's defaults fill what is not given.
      w.attr(
        C.NETEM_LOSS_GI,
        u32s(P(p13), P(model.p31 ?? 1 - p13), P(model.p32 ?? 0), P(model.p14 ?? 0), P(model.p23 ?? 1)),
      );
    } else {
      // The kernel wants h (no loss in the bad state); tc, and this API, take 1-h.
      const h = model.lossInBad === undefined ? 0 : 0xffffffff - P(model.lossInBad);
      w.attr(C.NETEM_LOSS_GE, u32s(P(model.p), P(model.r ?? 1 - model.p), h, P(model.lossInGood ?? 0)));
    }
    w.end();
  }
  if (o.rate !== undefined) {
    if (o.rate >= 2 ** 32) w.u64(C.TCA_NETEM_RATE64, BigInt(o.rate));
    const r = Buffer.alloc(C.SIZEOF_TC_NETEM_RATE);
    r.writeUInt32LE(o.rate >= 2 ** 32 ? 0xffffffff : o.rate, 0);
    r.writeInt32LE(o.packetOverhead ?? 0, 4);
    r.writeUInt32LE(o.cellSize ?? 0, 8);
    r.writeInt32LE(o.cellOverhead ?? 0, 12);
    w.attr(C.TCA_NETEM_RATE, r);
  }
  const dist = o.distribution !== undefined ? loadDistribution(o.distribution, "distribution") : undefined;
  if (dist) w.attr(C.TCA_NETEM_DELAY_DIST, dist);
  const slotDist =
    o.slot && "distribution" in o.slot
      ? loadDistribution(o.slot.distribution, "slot.distribution")
      : undefined;
  if (slotDist) w.attr(C.TCA_NETEM_SLOT_DIST, slotDist);
  w.end();
}

const pct = u32ToPercent;

export function decodeNetem(options: Buffer | undefined, p: Psched): NetemInfo | undefined {
  if (!options || options.length < QOPT_LEN) return undefined;
  const q = (i: number) => options.readUInt32LE(i * 4);
  const info: NetemInfo = { limit: q(1) };
  const attrs = new Map<number, RawAttr>();
  for (const a of parseAttrs(options.subarray(QOPT_LEN))) attrs.set(a.type, a);
  const lat64 = attrs.get(C.TCA_NETEM_LATENCY64);
  const jit64 = attrs.get(C.TCA_NETEM_JITTER64);
  const delay =
    lat64 && lat64.data.length >= 8 ? Number(lat64.data.readBigInt64LE(0)) / 1000 : ticksToTime(q(0), p);
  const jitter =
    jit64 && jit64.data.length >= 8 ? Number(jit64.data.readBigInt64LE(0)) / 1000 : ticksToTime(q(5), p);
  if (delay) info.delay = delay;
  if (jitter) info.jitter = jitter;
  if (q(2)) info.loss = pct(q(2));
  if (q(3)) info.gap = q(3);
  if (q(4)) info.duplicate = pct(q(4));
  const corr = attrs.get(C.TCA_NETEM_CORR)?.data;
  if (corr && corr.length >= 12) {
    if (corr.readUInt32LE(0)) info.delayCorrelation = pct(corr.readUInt32LE(0));
    if (corr.readUInt32LE(4)) info.lossCorrelation = pct(corr.readUInt32LE(4));
    if (corr.readUInt32LE(8)) info.duplicateCorrelation = pct(corr.readUInt32LE(8));
  }
  const reorder = attrs.get(C.TCA_NETEM_REORDER)?.data;
  if (reorder && reorder.length >= 8 && reorder.readUInt32LE(0)) {
    info.reorder = pct(reorder.readUInt32LE(0));
    if (reorder.readUInt32LE(4)) info.reorderCorrelation = pct(reorder.readUInt32LE(4));
  }
  const corrupt = attrs.get(C.TCA_NETEM_CORRUPT)?.data;
  if (corrupt && corrupt.length >= 8 && corrupt.readUInt32LE(0)) {
    info.corrupt = pct(corrupt.readUInt32LE(0));
    if (corrupt.readUInt32LE(4)) info.corruptCorrelation = pct(corrupt.readUInt32LE(4));
  }
  const rate = attrs.get(C.TCA_NETEM_RATE)?.data;
  const rate64 = attrs.get(C.TCA_NETEM_RATE64)?.data;
  if (rate && rate.length >= 16 && rate.readUInt32LE(0)) {
    info.rate = rate64 && rate64.length >= 8 ? Number(rate64.readBigUInt64LE(0)) : rate.readUInt32LE(0);
    if (rate.readInt32LE(4)) info.packetOverhead = rate.readInt32LE(4);
    if (rate.readUInt32LE(8)) info.cellSize = rate.readUInt32LE(8);
    if (rate.readInt32LE(12)) info.cellOverhead = rate.readInt32LE(12);
  }
  const ecn = attrs.get(C.TCA_NETEM_ECN)?.data;
  if (ecn && ecn.length >= 4 && ecn.readUInt32LE(0)) info.ecn = true;
  const loss = attrs.get(C.TCA_NETEM_LOSS);
  if (loss) {
    for (const m of parseAttrs(loss.data)) {
      const v = (i: number) => pct(m.data.readUInt32LE(i * 4));
      if (m.type === C.NETEM_LOSS_GI && m.data.length >= 20) {
        info.loss = { model: "state", p13: v(0), p31: v(1), p32: v(2), p14: v(3), p23: v(4) };
      } else if (m.type === C.NETEM_LOSS_GE && m.data.length >= 16) {
        info.loss = {
          model: "gemodel",
          p: v(0),
          r: v(1),
          lossInBad: pct(0xffffffff - m.data.readUInt32LE(8)),
          lossInGood: v(3),
        };
      }
    }
  }
  const slot = attrs.get(C.TCA_NETEM_SLOT)?.data;
  if (slot && slot.length >= C.SIZEOF_TC_NETEM_SLOT) {
    const s: NonNullable<NetemInfo["slot"]> = {
      min: Number(slot.readBigInt64LE(0)) / 1000,
      max: Number(slot.readBigInt64LE(8)) / 1000,
    };
    const packets = slot.readInt32LE(16);
    const bytes = slot.readInt32LE(20);
    // The kernel reports "unlimited" as INT_MAX.
    if (packets && packets !== 0x7fffffff) s.packets = packets;
    if (bytes && bytes !== 0x7fffffff) s.bytes = bytes;
    const dd = Number(slot.readBigInt64LE(24)) / 1000;
    const dj = Number(slot.readBigInt64LE(32)) / 1000;
    if (dd) s.distributionDelay = dd;
    if (dj) s.distributionJitter = dj;
    info.slot = s;
  }
  return info;
}

export const netem = defineQdiscKind({
  kind: "netem",
  schema: netemSchema,
  encode: (w, o, ctx) => encodeNetem(w, o, ctx.psched),
  decode: (opts, ctx) => decodeNetem(opts, ctx.psched),
});

export type { Distribution };
