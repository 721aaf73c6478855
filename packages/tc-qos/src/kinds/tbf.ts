// tbf: the token bucket filter (shapes to a rate with a bucket of `burst` bytes, queueing at most
// `limit` bytes or `latency` of traffic). Encoded as tc 6.x does: TCA_TBF_PARMS, TCA_TBF_BURST,
// the 64-bit rates when a rate does not fit 32 bits, and 256-entry rate tables.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { type Psched, ticksToTime, xmitSize, xmitTime } from "../psched.js";
import {
  type LinkLayer,
  linkLayerName,
  RATESPEC_LEN,
  rate32,
  rateTable,
  readRateSpec,
  writeRateSpec,
} from "../rate-table.js";
import type { Duration } from "../units.js";
import { positiveRate, size, sizeAndCell, time, u16 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

export const tbfSchema = z
  .object({
    /** Shaping rate. */
    rate: positiveRate,
    /** Bucket size (bytes, "32kb"; tc's "burst", "buffer" or "maxburst"); "32kb/8" also sets the cell. */
    burst: sizeAndCell.refine((b) => b.bytes > 0, "must be greater than 0"),
    /** Longest time a packet may wait (tc computes the byte limit from it). Give this or `limit`. */
    latency: time.optional(),
    /** Queue limit in bytes. Give this or `latency`. */
    limit: size.refine((b) => b > 0, "must be greater than 0").optional(),
    /** Peak rate (needs `mtu`, must exceed `rate`). */
    peakrate: positiveRate.optional(),
    /** Size of the peak-rate bucket (tc's "mtu" or "minburst"); "1540/8" also sets the cell. */
    mtu: sizeAndCell.optional(),
    /** Minimum packet size accounted. */
    mpu: size.optional(),
    /** Per-packet overhead in bytes. */
    overhead: u16.optional(),
    linklayer: z.enum(["ethernet", "atm"]).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.latency === undefined && o.limit === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["latency"],
        message: 'give "latency" or "limit" (tc requires one)',
      });
    if (o.latency !== undefined && o.limit !== undefined)
      ctx.addIssue({ code: "custom", path: ["limit"], message: 'give "latency" or "limit", not both' });
    if (o.peakrate !== undefined && o.mtu === undefined)
      ctx.addIssue({ code: "custom", path: ["mtu"], message: 'is required with "peakrate"' });
    if (o.peakrate !== undefined && o.peakrate <= o.rate)
      ctx.addIssue({ code: "custom", path: ["peakrate"], message: 'must be greater than "rate"' });
  });

export type TbfOptions = z.input<typeof tbfSchema>;
export type TbfParsed = z.output<typeof tbfSchema>;

/** A tbf as the kernel reports it. Rates in bytes/s, sizes in bytes, times in microseconds. */
export interface TbfInfo {
  rate: number;
  burst: number;
  limit: number;
  /** The queueing latency the limit amounts to, computed as tc prints it (absent if negative). */
  latency?: number;
  peakrate?: number;
  mtu?: number;
  mpu: number;
  overhead: number;
  linklayer: LinkLayer | "unaware";
  cellLog: number;
}

const TBF_QOPT_LEN = C.SIZEOF_TC_TBF_QOPT;

function limitFromLatency(
  rate: number,
  latency: Duration,
  burst: number,
  peak?: { rate: number; mtu: number },
) {
  // tc: rate * latency / 1e6 + burst (in doubles), the smaller with the peak bucket, truncated.
  let lim = (rate * latency.usec) / 1e6 + burst;
  if (peak) {
    const lim2 = (peak.rate * latency.usec) / 1e6 + peak.mtu;
    if (lim2 < lim) lim = lim2;
  }
  return Math.trunc(lim) >>> 0;
}

export function encodeTbf(w: AttrWriter, o: TbfParsed, p: Psched): void {
  const mtu = o.mtu?.bytes ?? 0;
  const mpu = o.mpu ?? 0;
  const overhead = o.overhead ?? 0;
  const linklayer = o.linklayer ?? "ethernet";
  const buffer = o.burst.bytes;
  const limit =
    o.limit ??
    limitFromLatency(
      o.rate,
      o.latency as Duration,
      buffer,
      o.peakrate !== undefined ? { rate: o.peakrate, mtu } : undefined,
    );
  const r = rateTable(
    {
      rate: o.rate,
      ...(o.burst.cellLog !== undefined ? { cellLog: o.burst.cellLog } : {}),
      mtu,
      mpu,
      overhead,
      linklayer,
    },
    p,
  );
  const qopt = Buffer.alloc(TBF_QOPT_LEN);
  writeRateSpec(qopt, 0, r.spec);
  qopt.writeUInt32LE(limit, 24);
  // tc computes the bucket's ticks from the 32-bit rate; the kernel prefers TCA_TBF_BURST anyway.
  qopt.writeUInt32LE(xmitTime(rate32(o.rate), buffer, p), 28);
  let peak: ReturnType<typeof rateTable> | undefined;
  if (o.peakrate !== undefined) {
    peak = rateTable(
      {
        rate: o.peakrate,
        ...(o.mtu?.cellLog !== undefined ? { cellLog: o.mtu.cellLog } : {}),
        mtu,
        mpu,
        overhead,
        linklayer,
      },
      p,
    );
    writeRateSpec(qopt, RATESPEC_LEN, peak.spec);
    qopt.writeUInt32LE(xmitTime(rate32(o.peakrate), mtu, p), 32);
  }
  w.begin(C.TCA_OPTIONS);
  w.attr(C.TCA_TBF_PARMS, qopt);
  w.u32(C.TCA_TBF_BURST, buffer);
  if (o.rate >= 2 ** 32) w.u64(C.TCA_TBF_RATE64, BigInt(o.rate));
  w.attr(C.TCA_TBF_RTAB, r.table);
  if (peak && o.peakrate !== undefined) {
    if (o.peakrate >= 2 ** 32) w.u64(C.TCA_TBF_PRATE64, BigInt(o.peakrate));
    w.u32(C.TCA_TBF_PBURST, mtu);
    w.attr(C.TCA_TBF_PTAB, peak.table);
  }
  w.end();
}

export function decodeTbf(options: Buffer | undefined, p: Psched): TbfInfo | undefined {
  if (!options) return undefined;
  let qopt: Buffer | undefined;
  let rate64: number | undefined;
  let prate64: number | undefined;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_TBF_PARMS && a.data.length >= TBF_QOPT_LEN) qopt = a.data;
    else if (a.type === C.TCA_TBF_RATE64 && a.data.length >= 8) rate64 = Number(a.data.readBigUInt64LE(0));
    else if (a.type === C.TCA_TBF_PRATE64 && a.data.length >= 8) prate64 = Number(a.data.readBigUInt64LE(0));
  }
  if (!qopt) return undefined;
  const rs = readRateSpec(qopt, 0);
  const ps = readRateSpec(qopt, RATESPEC_LEN);
  const limit = qopt.readUInt32LE(24);
  const buffer = qopt.readUInt32LE(28);
  const mtuTicks = qopt.readUInt32LE(32);
  const rate = rate64 ?? rs.rate;
  const peakrate = prate64 ?? ps.rate;
  const info: TbfInfo = {
    rate,
    burst: xmitSize(rate, buffer, p),
    limit,
    mpu: rs.mpu,
    overhead: rs.overhead,
    linklayer: linkLayerName(rs.linklayer),
    cellLog: rs.cellLog,
  };
  let latency = 1e6 * (limit / rate) - ticksToTime(buffer, p);
  if (peakrate) {
    info.peakrate = peakrate;
    info.mtu = xmitSize(peakrate, mtuTicks, p);
    const lat2 = 1e6 * (limit / peakrate) - ticksToTime(mtuTicks, p);
    if (lat2 > latency) latency = lat2;
  }
  if (latency >= 0) info.latency = Math.trunc(latency);
  return info;
}

export const tbf = defineQdiscKind({
  kind: "tbf",
  schema: tbfSchema,
  encode: (w, o, ctx) => encodeTbf(w, o, ctx.psched),
  decode: (opts, ctx) => decodeTbf(opts, ctx.psched),
});
