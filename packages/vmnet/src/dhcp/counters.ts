// Counters the server keeps per binding and in total; plain objects so stats() can copy them.
import type { DhcpCounters } from "./types.js";

export function emptyCounters(): DhcpCounters {
  return {
    received: { discover: 0, request: 0, decline: 0, release: 0, inform: 0 },
    sent: { offer: 0, ack: 0, nak: 0 },
    dropped: {},
    droppedTotal: 0,
    sendErrors: 0,
  };
}

/** The counters' shape every vmnet server keeps (DHCPv4, DHCPv6): messages by kind, drops by reason. */
interface ServerCounters<Reason extends string> {
  received: object;
  sent: object;
  dropped: Partial<Record<Reason, number>>;
  droppedTotal: number;
  sendErrors: number;
}

export function countDrop<Reason extends string>(c: ServerCounters<Reason>, reason: Reason): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
  c.droppedTotal += 1;
}

export function copyCounters<C extends ServerCounters<string>>(c: C): C {
  return {
    ...c,
    received: { ...c.received },
    sent: { ...c.sent },
    dropped: { ...c.dropped },
  };
}
