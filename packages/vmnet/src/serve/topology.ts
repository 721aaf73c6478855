// What the page draws: bridges (with VLANs, trunks, tunnels, mirrors), every vmnet tap with its
// MAC, snooped addresses and QoS, and the container-side networks found in the state directory.
// Read fresh from OVSDB and the kernel on each refresh (the kernel is the source of truth).
import type { Bridge, BridgeInfo, Bridges, QosState, Tap } from "../bridges/index.js";
import { type ContainerNetworkView, readContainerNetworks } from "./containers.js";

export interface QosSummary {
  /** Rate limit in bytes per second (tbf, or netem's own rate). */
  rateBps?: number;
  /** netem delay and jitter in microseconds. */
  delayUs?: number;
  jitterUs?: number;
  /** netem random loss in percent. */
  lossPercent?: number;
  /** The tap's qdiscs are not only vmnet's netem/tbf. */
  foreign: boolean;
}

export interface TopologyTap {
  name: string;
  bridge: string;
  kind: Tap["kind"];
  vlan: number | undefined;
  mac: string | undefined;
  deviceMac: string | undefined;
  container: string | undefined;
  up: boolean;
  present: boolean;
  defunct: boolean;
  ipv4: string[];
  ipv6: string[];
  qos: QosSummary | undefined;
}

export interface Topology {
  bridges: BridgeInfo[];
  taps: TopologyTap[];
  containers: ContainerNetworkView[];
}

/** Qdiscs a link has without anyone configuring QoS on it. */
const DEFAULT_QDISCS = new Set(["noqueue", "pfifo_fast", "fq_codel", "mq", "noop", "pfifo", "fq"]);

export function summarizeQos(q: QosState): QosSummary | undefined {
  const loss = typeof q.loss === "number" ? q.loss : undefined;
  const s: QosSummary = {
    ...(q.rate !== undefined && { rateBps: q.rate }),
    ...(q.delay !== undefined && { delayUs: q.delay }),
    ...(q.jitter !== undefined && { jitterUs: q.jitter }),
    ...(loss !== undefined && { lossPercent: loss }),
    foreign: q.foreign,
  };
  return Object.keys(s).length > 1 || s.foreign ? s : undefined;
}

export async function readTopology(bridges: Bridges, stateDir: string | undefined): Promise<Topology> {
  // One OVSDB snapshot and one link dump for bridges, taps and qdiscs (it used to be one snapshot
  // per bridge for info(), one more for taps(), and a second link dump).
  const [overview, containers] = await Promise.all([
    bridges.overview(),
    stateDir ? readContainerNetworks(stateDir) : Promise.resolve([]),
  ]);
  const qdiscOf = new Map(overview.links.map((l) => [l.name, l.qdisc]));
  const views = new Map<string, Promise<Bridge | undefined>>();
  const view = (name: string) => {
    let v = views.get(name);
    if (!v) {
      v = bridges.existing(name).catch(() => undefined);
      views.set(name, v);
    }
    return v;
  };
  const out: TopologyTap[] = [];
  for (const t of overview.taps) {
    const qdisc = qdiscOf.get(t.name);
    let qos: QosSummary | undefined;
    // Only taps whose root qdisc someone configured cost a tc dump.
    if (t.present && qdisc && !DEFAULT_QDISCS.has(qdisc)) {
      const state = await view(t.bridge)
        .then((b) => b?.getQos(t.name))
        .catch(() => undefined);
      qos = state ? summarizeQos(state) : undefined;
    }
    out.push({
      name: t.name,
      bridge: t.bridge,
      kind: t.kind,
      vlan: t.vlan,
      mac: t.mac,
      deviceMac: t.deviceMac,
      container: t.container,
      up: t.up,
      present: t.present,
      defunct: t.defunct,
      ipv4: t.ipv4,
      ipv6: t.ipv6,
      qos,
    });
  }
  return { bridges: overview.bridges, taps: out, containers };
}
