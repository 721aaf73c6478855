// Counters the server keeps per binding and in total; plain objects so stats() can copy them.
import type { DhcpCounters, DhcpDropReason } from "./types.js";

export function emptyCounters(): DhcpCounters {
  return {
    received: { discover: 0, request: 0, decline: 0, release: 0, inform: 0 },
    sent: { offer: 0, ack: 0, nak: 0 },
    dropped: {},
    droppedTotal: 0,
    sendErrors: 0,
  };
}

export function countDrop(c: DhcpCounters, reason: DhcpDropReason): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
  c.droppedTotal += 1;
}

export function copyCounters(c: DhcpCounters): DhcpCounters {
  return {
    received: { ...c.received },
    sent: { ...c.sent },
    dropped: { ...c.dropped },
    droppedTotal: c.droppedTotal,
    sendErrors: c.sendErrors,
  };
}
