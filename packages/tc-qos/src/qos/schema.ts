// What applyQos accepts: netem's options (without its own rate and cell fields), tbf's rate
// limit with its bucket and queue, and an ingress shaper; with the defaults applyQos fills in.
import { z } from "zod";
import { type NetemInfo, netemShape, refineNetem } from "../kinds/netem.js";
import type { Filter, Qdisc, TcClass } from "../tc.js";
import { interfaceName, positiveRate, sizeAndCell, time } from "../validate.js";

/** Default tbf bucket: 10 ms of the rate, at least 16 KiB (a few full-size packets). */
export function defaultBurst(bytesPerSecond: number): number {
  return Math.max(Math.ceil(bytesPerSecond / 100), 16 * 1024);
}
/** Default tbf queue: as much as 50 ms of the rate (tc's "latency"). */
export const DEFAULT_LATENCY = "50ms";

const {
  rate: _netemRate,
  packetOverhead: _po,
  cellSize: _cs,
  cellOverhead: _co,
  ...netemQosShape
} = netemShape;
export const NETEM_KEYS = Object.keys(netemQosShape) as (keyof typeof netemQosShape)[];

const burstSchema = sizeAndCell.refine((b) => b.bytes > 0, "must be greater than 0");

const ingressSchema = z
  .object({
    /** Rate for what the link receives (what a VM sends into its tap). */
    rate: positiveRate,
    burst: burstSchema.optional(),
    latency: time.optional(),
    /** Name of the ifb link to shape on (default "qosin<ifindex>"); created and marked as ours. */
    ifb: interfaceName.optional(),
  })
  .strict();

export const qosSchema = z
  .object({
    ...netemQosShape,
    /** Rate limit (tbf). With loss/delay options, a tbf under the netem. */
    rate: positiveRate.optional(),
    /** tbf bucket (default: 10 ms of the rate, at least 16 KiB). */
    burst: burstSchema.optional(),
    /** Longest a packet waits in the tbf queue (default 50 ms). */
    latency: time.optional(),
    peakrate: positiveRate.optional(),
    mtu: sizeAndCell.optional(),
    /** Shape what the link receives, through an ifb. */
    ingress: ingressSchema.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    refineNetem(o, ctx);
    for (const f of ["burst", "latency", "peakrate", "mtu"] as const)
      if (o[f] !== undefined && o.rate === undefined)
        ctx.addIssue({ code: "custom", path: [f], message: 'needs "rate"' });
    if (o.peakrate !== undefined && o.mtu === undefined)
      ctx.addIssue({ code: "custom", path: ["mtu"], message: 'is required with "peakrate"' });
    if (o.peakrate !== undefined && o.rate !== undefined && o.peakrate <= o.rate)
      ctx.addIssue({ code: "custom", path: ["peakrate"], message: 'must be greater than "rate"' });
  });

/**
 * What a link's QoS should be. Absent fields are not shaped: applyQos({ rate: "10mbit" }) on a
 * link with loss set before leaves only the rate. Units as tc writes them ("10mbit", "50ms", "1%").
 */
export type QosSpec = z.input<typeof qosSchema>;

/** Rates in bytes/s, sizes in bytes, times in microseconds, probabilities in percent points. */
export interface QosState
  extends Omit<NetemInfo, "rate" | "packetOverhead" | "cellSize" | "cellOverhead" | "limit"> {
  /** netem's queue limit (packets), when a netem is there. */
  limit?: number;
  /** The tbf's rate (or netem's own rate when there is no tbf). */
  rate?: number;
  burst?: number;
  latency?: number;
  peakrate?: number;
  mtu?: number;
  ingress?: { rate: number; burst: number; latency?: number; ifb: string };
  /** True when the root qdisc (or what hangs under it) is not netem/tbf, so the fields above do not tell all. */
  foreign: boolean;
  /** The qdiscs found: the root (also the link's default one), what hangs under it, ingress, the ifb's. */
  qdiscs: Qdisc[];
  /** The link's classes (htb and others), when its root is classful. */
  classes: TcClass[];
  /** The filters on the link's ingress qdisc. */
  ingressFilters: Filter[];
}

export type QosParsed = z.output<typeof qosSchema>;
