// police: a token-bucket policer as an action (tc's "action police rate R burst B [mtu M]
// conform-exceed EXCEED[/CONFORM]"). TCA_ACT_OPTIONS holds TCA_POLICE_TBF (struct tc_police:
// rate spec, bucket in ticks) and the rate table the kernel still requires, as tbf does.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import type { CodecContext } from "../kinds/kind.js";
import { xmitSize, xmitTime } from "../psched.js";
import { rate32, rateTable, readRateSpec, writeRateSpec } from "../rate-table.js";
import { positiveRate, size, u32 } from "../validate.js";
import { defineActionKind } from "./kind.js";
import { type ActionControl, CONTROLS } from "./mirred.js";

const control = z.enum(Object.keys(CONTROLS) as [ActionControl, ...ActionControl[]]);

export const policeSchema = z
  .object({
    kind: z.literal("police"),
    /** Rate packets may arrive at ("1mbit"). */
    rate: positiveRate,
    /** Bucket size ("10k"). */
    burst: size.refine((b) => b > 0, "must be greater than 0"),
    /** Largest packet the rate table covers ("2kb"; tc's default 2047 when absent). */
    mtu: size.optional(),
    /** Verdict for packets over the rate (default "reclassify", as tc). */
    exceed: control.optional(),
    /** Verdict for packets within the rate (tc's second conform-exceed word). */
    conform: control.optional(),
    index: u32.optional(),
  })
  .strict();

export type PoliceAction = z.input<typeof policeSchema>;
export type PoliceParsed = z.output<typeof policeSchema>;

export interface PoliceInfo {
  kind: "police";
  rate: number;
  burst: number;
  mtu: number;
  exceed: number;
  conform?: number;
  index: number;
}

export function encodePolice(w: AttrWriter, a: PoliceParsed, ctx: CodecContext): void {
  const mtu = a.mtu ?? 0;
  const r = rateTable({ rate: a.rate, mtu, mpu: 0, overhead: 0, linklayer: "ethernet" }, ctx.psched);
  const p = Buffer.alloc(C.SIZEOF_TC_POLICE);
  p.writeUInt32LE(a.index ?? 0, 0);
  p.writeInt32LE(CONTROLS[a.exceed ?? "reclassify"], 4);
  p.writeUInt32LE(xmitTime(rate32(a.rate), a.burst, ctx.psched), 12);
  p.writeUInt32LE(mtu, 16);
  writeRateSpec(p, 20, r.spec);
  w.attr(C.TCA_POLICE_TBF, p);
  w.attr(C.TCA_POLICE_RATE, r.table);
  if (a.rate >= 2 ** 32) w.u64(C.TCA_POLICE_RATE64, BigInt(a.rate));
  if (a.conform !== undefined) w.u32(C.TCA_POLICE_RESULT, CONTROLS[a.conform]);
}

export function decodePolice(options: Buffer, ctx: CodecContext): PoliceInfo | undefined {
  let info: PoliceInfo | undefined;
  let rate64: number | undefined;
  let conform: number | undefined;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_POLICE_TBF && a.data.length >= C.SIZEOF_TC_POLICE) {
      const rate = readRateSpec(a.data, 20).rate;
      info = {
        kind: "police",
        rate,
        burst: xmitSize(rate, a.data.readUInt32LE(12), ctx.psched),
        mtu: a.data.readUInt32LE(16),
        exceed: a.data.readInt32LE(4),
        index: a.data.readUInt32LE(0),
      };
    } else if (a.type === C.TCA_POLICE_RATE64 && a.data.length >= 8)
      rate64 = Number(a.data.readBigUInt64LE(0));
    else if (a.type === C.TCA_POLICE_RESULT && a.data.length >= 4) conform = a.data.readInt32LE(0);
  }
  if (!info) return undefined;
  if (rate64 !== undefined) info.rate = rate64;
  if (conform !== undefined) info.conform = conform;
  return info;
}

/** The plugin (see kind.ts). */
export const police = defineActionKind({
  kind: "police",
  schema: policeSchema,
  encode: (w, a, _ifindex, ctx) => encodePolice(w, a, ctx),
  decode: (options, ctx) => decodePolice(options, ctx),
});
