// The qdisc kinds this package knows. Others are still listed and decoded generically (kind,
// handle, parent, raw options): the kernel is the source of truth, not this table.

import { clsact } from "./clsact.js";
import { bfifo, pfifo } from "./fifo.js";
import { fqCodel } from "./fq-codel.js";
import { htb } from "./htb.js";
import { ingress } from "./ingress.js";
import type { QdiscKind } from "./kind.js";
import { netem } from "./netem.js";
import { sfq } from "./sfq.js";
import { tbf } from "./tbf.js";

/** The registry: adding a kind is its file, a line here and its constants. */
export const qdiscKinds = { netem, tbf, htb, ingress, clsact, pfifo, bfifo, sfq, fq_codel: fqCodel } as const;

export type KnownQdiscKind = keyof typeof qdiscKinds;

export function qdiscKind(kind: string): QdiscKind | undefined {
  return (qdiscKinds as Record<string, QdiscKind | undefined>)[kind];
}

/** The kinds this package writes, for error messages. */
export const QDISC_KIND_NAMES = Object.keys(qdiscKinds).join(", ");
