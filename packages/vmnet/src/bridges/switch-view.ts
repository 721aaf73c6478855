// Bridge infos and taps built from one OVSDB snapshot (and one link dump), in one pass over the
// port rows. Bridge.info / taps and Bridges.info / taps / overview all read through here, so a
// caller that wants everything (vmnet serve's topology) pays for one snapshot, not one per call.
import type { Link } from "@vmnet/netlink-native";
import type { PortInfo, SwitchSnapshot } from "@vmnet/ovs";
import type { BridgeInfo } from "./bridge.js";
import { KIND_KEY, OWNER_KEY } from "./keys.js";
import type { BandwidthSampler } from "./stats.js";
import { TAP_KINDS, type Tap, tapView } from "./tap.js";

const TUNNEL_TYPES = new Set(["vxlan", "gre"]);

/** Infos of the bridges named (default every bridge, sorted by name) from one snapshot. */
export function bridgeInfosOf(snap: SwitchSnapshot, owner: string, names?: readonly string[]): BridgeInfo[] {
  const wanted = names ? new Set(names) : undefined;
  const infos = new Map<string, BridgeInfo>();
  const vlans = new Map<string, Set<number>>();
  for (const row of snap.bridges) {
    if (wanted && !wanted.has(row.name)) continue;
    infos.set(row.name, {
      name: row.name,
      preExisting: row.externalIds[OWNER_KEY] !== owner,
      vlans: [],
      trunks: [],
      tunnels: [],
      mirrors: [],
      netflow: row.netflow
        ? { targets: row.netflow.targets, activeTimeout: row.netflow.activeTimeout }
        : undefined,
      config: row.otherConfig,
      taps: 0,
    });
    vlans.set(row.name, new Set());
  }
  for (const p of snap.ports) {
    const info = p.bridge === undefined ? undefined : infos.get(p.bridge);
    if (!info) continue;
    const kind = p.externalIds[KIND_KEY];
    if (kind !== undefined && TAP_KINDS.has(kind) && p.externalIds[OWNER_KEY] === owner) {
      info.taps++;
      if (p.tag !== undefined) vlans.get(info.name)?.add(p.tag);
    }
    if (kind === "trunk") info.trunks.push(p.name);
    const iface = p.interfaces[0];
    if (iface && TUNNEL_TYPES.has(iface.type))
      info.tunnels.push({
        name: p.name,
        type: iface.type,
        remote: iface.options.remote_ip,
        key: iface.options.key,
      });
  }
  for (const m of snap.mirrors)
    (m.bridge === undefined ? undefined : infos.get(m.bridge))?.mirrors.push({
      name: m.name,
      output: m.outputPort,
      selectAll: m.selectAll,
      sources: m.selectSrcPorts,
      vlans: m.selectVlans,
    });
  for (const [name, set] of vlans) {
    const info = infos.get(name) as BridgeInfo;
    info.vlans = [...set].sort((a, b) => a - b);
  }
  const order = names ?? [...infos.keys()].sort();
  return order.flatMap((n) => infos.get(n) ?? []);
}

/** vmnet's taps (of one bridge, or of all) from one snapshot and one link dump, sorted by name. */
export function tapsOf(
  snap: SwitchSnapshot,
  links: readonly Link[],
  owner: string,
  sampler: BandwidthSampler | undefined,
  bridge?: string,
): Tap[] {
  const byName = new Map(links.map((l) => [l.name, l]));
  const mine = (p: PortInfo) =>
    (bridge === undefined || p.bridge === bridge) &&
    p.externalIds[OWNER_KEY] === owner &&
    TAP_KINDS.has(p.externalIds[KIND_KEY] ?? "");
  return snap.ports
    .filter(mine)
    .map((p) => tapView(p, byName.get(p.name), sampler?.get(p.name)))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}
