// pfifo and bfifo: plain first-in first-out queues bounded in packets (pfifo) or bytes (bfifo).
// TCA_OPTIONS is struct tc_fifo_qopt (not a nest), and is left out when no limit is given (the
// kernel then uses the link's txqueuelen).
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { size, u32 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

export interface FifoInfo {
  limit: number;
}

function encode(w: AttrWriter, limit: number | undefined): void {
  if (limit === undefined) return;
  const b = Buffer.alloc(C.SIZEOF_TC_FIFO_QOPT);
  b.writeUInt32LE(limit, 0);
  w.attr(C.TCA_OPTIONS, b);
}

function decode(options: Buffer | undefined): FifoInfo | undefined {
  if (!options || options.length < 4) return undefined;
  return { limit: options.readUInt32LE(0) };
}

export const pfifo = defineQdiscKind({
  kind: "pfifo",
  /** limit: packets. */
  schema: z.object({ limit: u32.optional() }).strict(),
  encode: (w, o) => encode(w, o.limit),
  decode,
});

export const bfifo = defineQdiscKind({
  kind: "bfifo",
  /** limit: bytes ("64kb"). */
  schema: z.object({ limit: size.optional() }).strict(),
  encode: (w, o) => encode(w, o.limit),
  decode,
});

export type PfifoOptions = z.input<typeof pfifo.schema>;
export type BfifoOptions = z.input<typeof bfifo.schema>;
