// fq_codel: fair queueing with CoDel's delay-based dropping per flow. TCA_OPTIONS nests
// TCA_FQ_CODEL_* attributes, written in tc's order (limit, flows, quantum, interval, target,
// ecn, ce_threshold, memory_limit, drop_batch), only those given; times in microseconds.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { size, time, u32 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

const fqCodelSchema = z
  .object({
    /** Packets the qdisc holds. */
    limit: u32.optional(),
    /** Flow buckets. */
    flows: u32.optional(),
    /** Bytes a flow sends per round. */
    quantum: size.optional(),
    /** CoDel's target queueing delay ("5ms"). */
    target: time.optional(),
    /** CoDel's interval ("100ms"). */
    interval: time.optional(),
    /** Mark ECN-capable packets instead of dropping them (true: "ecn", false: "noecn"). */
    ecn: z.boolean().optional(),
    /** Mark (CE) packets above this sojourn time ("2ms"). */
    ceThreshold: time.optional(),
    /** Bytes of memory the queues may use ("32mb"). */
    memoryLimit: size.optional(),
    /** Packets dropped at most at once when the limit is hit. */
    dropBatch: u32.optional(),
  })
  .strict();

export type FqCodelOptions = z.input<typeof fqCodelSchema>;
type FqCodelParsed = z.output<typeof fqCodelSchema>;

export interface FqCodelInfo {
  limit?: number;
  flows?: number;
  quantum?: number;
  /** Microseconds. */
  target?: number;
  interval?: number;
  ecn?: boolean;
  ceThreshold?: number;
  memoryLimit?: number;
  dropBatch?: number;
}

function encode(w: AttrWriter, o: FqCodelParsed): void {
  w.begin(C.TCA_OPTIONS);
  if (o.limit !== undefined) w.u32(C.TCA_FQ_CODEL_LIMIT, o.limit);
  if (o.flows !== undefined) w.u32(C.TCA_FQ_CODEL_FLOWS, o.flows);
  if (o.quantum !== undefined) w.u32(C.TCA_FQ_CODEL_QUANTUM, o.quantum);
  if (o.interval !== undefined) w.u32(C.TCA_FQ_CODEL_INTERVAL, Math.round(o.interval.usec));
  if (o.target !== undefined) w.u32(C.TCA_FQ_CODEL_TARGET, Math.round(o.target.usec));
  if (o.ecn !== undefined) w.u32(C.TCA_FQ_CODEL_ECN, o.ecn ? 1 : 0);
  if (o.ceThreshold !== undefined) w.u32(C.TCA_FQ_CODEL_CE_THRESHOLD, Math.round(o.ceThreshold.usec));
  if (o.memoryLimit !== undefined) w.u32(C.TCA_FQ_CODEL_MEMORY_LIMIT, o.memoryLimit);
  if (o.dropBatch !== undefined) w.u32(C.TCA_FQ_CODEL_DROP_BATCH_SIZE, o.dropBatch);
  w.end();
}

const FIELDS: Record<number, Exclude<keyof FqCodelInfo, "ecn">> = {
  [C.TCA_FQ_CODEL_LIMIT]: "limit",
  [C.TCA_FQ_CODEL_FLOWS]: "flows",
  [C.TCA_FQ_CODEL_QUANTUM]: "quantum",
  [C.TCA_FQ_CODEL_TARGET]: "target",
  [C.TCA_FQ_CODEL_INTERVAL]: "interval",
  [C.TCA_FQ_CODEL_CE_THRESHOLD]: "ceThreshold",
  [C.TCA_FQ_CODEL_MEMORY_LIMIT]: "memoryLimit",
  [C.TCA_FQ_CODEL_DROP_BATCH_SIZE]: "dropBatch",
};

function decode(options: Buffer | undefined): FqCodelInfo | undefined {
  if (!options) return undefined;
  const out: FqCodelInfo = {};
  for (const a of parseAttrs(options)) {
    if (a.data.length < 4) continue;
    if (a.type === C.TCA_FQ_CODEL_ECN) out.ecn = a.data.readUInt32LE(0) !== 0;
    else {
      const f = FIELDS[a.type];
      if (f) out[f] = a.data.readUInt32LE(0);
    }
  }
  return out;
}

export const fqCodel = defineQdiscKind({ kind: "fq_codel", schema: fqCodelSchema, encode, decode });
