// sfq: stochastic fairness queueing (flows hashed into buckets served round-robin). TCA_OPTIONS
// is struct tc_sfq_qopt_v1 (not a nest), sent only when an option is given, as tc does; the
// kernel dumps the same struct back.
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { size, u32 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

const sfqSchema = z
  .object({
    /** Packets the whole qdisc holds. */
    limit: u32.optional(),
    /** Seconds between hash perturbations (0: never). */
    perturb: u32.optional(),
    /** Bytes a flow sends per round ("1514", "1.5kb"). */
    quantum: size.optional(),
    /** Hash buckets (a power of two up to 65536). */
    divisor: u32.optional(),
    /** Flows at most. */
    flows: u32.optional(),
    /** Packets per flow at most. */
    depth: u32.optional(),
    /** Drop from the head of a full flow instead of its tail. */
    headdrop: z.boolean().optional(),
  })
  .strict();

export type SfqOptions = z.input<typeof sfqSchema>;
type SfqParsed = z.output<typeof sfqSchema>;

export interface SfqInfo {
  quantum: number;
  perturb: number;
  limit: number;
  divisor: number;
  flows: number;
  depth: number;
  headdrop: boolean;
}

function encode(w: AttrWriter, o: SfqParsed): void {
  if (Object.values(o).every((v) => v === undefined)) return;
  const b = Buffer.alloc(C.SIZEOF_TC_SFQ_QOPT_V1);
  b.writeUInt32LE(o.quantum ?? 0, 0);
  b.writeInt32LE(o.perturb ?? 0, 4);
  b.writeUInt32LE(o.limit ?? 0, 8);
  b.writeUInt32LE(o.divisor ?? 0, 12);
  b.writeUInt32LE(o.flows ?? 0, 16);
  b.writeUInt32LE(o.depth ?? 0, 20);
  b.writeUInt32LE(o.headdrop ? 1 : 0, 24);
  w.attr(C.TCA_OPTIONS, b);
}

function decode(options: Buffer | undefined): SfqInfo | undefined {
  if (!options || options.length < C.SIZEOF_TC_SFQ_QOPT) return undefined;
  const v1 = options.length >= C.SIZEOF_TC_SFQ_QOPT_V1;
  return {
    quantum: options.readUInt32LE(0),
    perturb: options.readInt32LE(4),
    limit: options.readUInt32LE(8),
    divisor: options.readUInt32LE(12),
    flows: options.readUInt32LE(16),
    depth: v1 ? options.readUInt32LE(20) : 0,
    headdrop: v1 ? options.readUInt32LE(24) !== 0 : false,
  };
}

export const sfq = defineQdiscKind({ kind: "sfq", schema: sfqSchema, encode, decode });
