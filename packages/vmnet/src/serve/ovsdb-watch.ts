// Refreshes the topology when OVSDB says something the page shows changed (ports, VLAN tags,
// snooped addresses in external_ids, mirrors, tunnels), instead of re-reading the whole switch on
// a short timer: a full read of 1000 ports costs about 0.7 s of CPU here. Only the columns the
// page draws are monitored (not `statistics`, which ovs-vswitchd rewrites every few seconds).
import type { OvsdbClient } from "@vmnet/ovs";

export interface OvsdbWatch {
  cancel(): Promise<void>;
}

export async function watchOvsdb(
  client: OvsdbClient,
  onChange: () => void,
  debounceMs = 150,
): Promise<OvsdbWatch> {
  const noInitial = { initial: false, insert: true, delete: true, modify: true };
  const monitor = await client.monitor({
    Bridge: { columns: ["name", "ports", "mirrors", "netflow", "external_ids"], select: noInitial },
    Port: { columns: ["name", "tag", "trunks", "interfaces", "external_ids"], select: noInitial },
    Interface: { columns: ["name", "type", "options", "external_ids"], select: noInitial },
    Mirror: { select: noInitial },
  });
  let timer: NodeJS.Timeout | undefined;
  monitor.on("change", () => {
    // A batch of taps is many row changes in one or a few updates: one read after they settle.
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  return {
    async cancel() {
      if (timer) clearTimeout(timer);
      await monitor.cancel().catch(() => {});
    },
  };
}
