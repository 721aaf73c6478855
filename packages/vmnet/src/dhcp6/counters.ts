// Counters the DHCPv6 server keeps per binding and in total.
import type { Dhcp6Counters } from "./types.js";

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

// Drops are counted and counters copied by the DHCPv4 server's generic helpers.
export { copyCounters as copyCounters6, countDrop as countDrop6 } from "../dhcp/counters.js";
