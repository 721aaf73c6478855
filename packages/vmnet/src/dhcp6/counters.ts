// Counters the DHCPv6 server keeps per binding and in total.
import type { Dhcp6Counters, Dhcp6DropReason } from "./types.js";

export function emptyCounters6(): Dhcp6Counters {
  return {
    received: {
      solicit: 0,
      request: 0,
      confirm: 0,
      renew: 0,
      rebind: 0,
      release: 0,
      decline: 0,
      "information-request": 0,
    },
    sent: { advertise: 0, reply: 0 },
    dropped: {},
    droppedTotal: 0,
    sendErrors: 0,
  };
}

export function countDrop6(c: Dhcp6Counters, reason: Dhcp6DropReason): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
  c.droppedTotal += 1;
}

export function copyCounters6(c: Dhcp6Counters): Dhcp6Counters {
  return {
    received: { ...c.received },
    sent: { ...c.sent },
    dropped: { ...c.dropped },
    droppedTotal: c.droppedTotal,
    sendErrors: c.sendErrors,
  };
}
