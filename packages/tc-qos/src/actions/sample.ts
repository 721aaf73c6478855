// sample: hand one packet in `rate` to the psample netlink group `group` (sFlow-style
// sampling), optionally truncated. TCA_ACT_OPTIONS: TCA_SAMPLE_PARMS (struct tc_sample), then
// rate, group and truncation size, in tc's order.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { u32 } from "../validate.js";
import { defineActionKind } from "./kind.js";
import { type ActionControl, CONTROLS } from "./mirred.js";

export const sampleSchema = z
  .object({
    kind: z.literal("sample"),
    /** One packet in this many. */
    rate: z.number().int().min(1, "must be at least 1").max(0xffffffff),
    /** psample group the packets go to. */
    group: u32,
    /** Bytes of each sampled packet kept. */
    trunc: u32.optional(),
    index: u32.optional(),
    control: z.enum(Object.keys(CONTROLS) as [ActionControl, ...ActionControl[]]).optional(),
  })
  .strict();

export type SampleAction = z.input<typeof sampleSchema>;
export type SampleParsed = z.output<typeof sampleSchema>;

export interface SampleInfo {
  kind: "sample";
  rate: number;
  group: number;
  trunc?: number;
  index: number;
  control: number;
}

export function encodeSample(w: AttrWriter, a: SampleParsed): void {
  const p = Buffer.alloc(C.SIZEOF_TC_SAMPLE);
  p.writeUInt32LE(a.index ?? 0, 0);
  p.writeInt32LE(CONTROLS[a.control ?? "pipe"], 8);
  w.attr(C.TCA_SAMPLE_PARMS, p);
  w.u32(C.TCA_SAMPLE_RATE, a.rate);
  w.u32(C.TCA_SAMPLE_PSAMPLE_GROUP, a.group);
  if (a.trunc !== undefined) w.u32(C.TCA_SAMPLE_TRUNC_SIZE, a.trunc);
}

export function decodeSample(options: Buffer): SampleInfo | undefined {
  let index = 0;
  let control = 0;
  let rate: number | undefined;
  let group = 0;
  let trunc: number | undefined;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_SAMPLE_PARMS && a.data.length >= C.SIZEOF_TC_SAMPLE) {
      index = a.data.readUInt32LE(0);
      control = a.data.readInt32LE(8);
    } else if (a.data.length >= 4) {
      if (a.type === C.TCA_SAMPLE_RATE) rate = a.data.readUInt32LE(0);
      else if (a.type === C.TCA_SAMPLE_PSAMPLE_GROUP) group = a.data.readUInt32LE(0);
      else if (a.type === C.TCA_SAMPLE_TRUNC_SIZE) trunc = a.data.readUInt32LE(0);
    }
  }
  if (rate === undefined) return undefined;
  return { kind: "sample", rate, group, index, control, ...(trunc !== undefined ? { trunc } : {}) };
}

/** The plugin (see kind.ts). */
export const sample = defineActionKind({
  kind: "sample",
  schema: sampleSchema,
  encode: (w, a) => encodeSample(w, a),
  decode: (options) => decodeSample(options),
});
