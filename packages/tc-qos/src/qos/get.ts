// getQos: a link's QoS as the kernel holds it, whoever set it (applyQos, tc, another tool).
import type { LinkRef } from "@vmnet/netlink-native";
import type { NetemInfo } from "../kinds/netem.js";
import type { TbfInfo } from "../kinds/tbf.js";
import type { Qdisc } from "../tc.js";
import type { QosOptions } from "./apply.js";
import { withTc } from "./common.js";
import { readLinkState } from "./read.js";
import type { QosState } from "./schema.js";

function netemFields(n: NetemInfo): Partial<QosState> {
  const { rate, packetOverhead: _p, cellSize: _c, cellOverhead: _o, ...rest } = n;
  return rate !== undefined ? { ...rest, rate } : rest;
}

function tbfFields(t: TbfInfo): Partial<QosState> {
  const out: Partial<QosState> = { rate: t.rate, burst: t.burst };
  if (t.latency !== undefined) out.latency = t.latency;
  if (t.peakrate !== undefined) out.peakrate = t.peakrate;
  if (t.mtu !== undefined) out.mtu = t.mtu;
  return out;
}

/** Reads a link's QoS from the kernel, whoever set it (applyQos, tc, another tool). */
export async function getQos(link: LinkRef, options: QosOptions = {}): Promise<QosState> {
  return withTc(options, async (tc) => {
    const now = await readLinkState(tc, link, true);
    const ifindex = now.ifindex;
    const egress = now.egress;
    const ingress = now.ingress;
    const classes = await tc.classes.list(ifindex);
    const state: QosState = { foreign: false, qdiscs: [], classes, ingressFilters: ingress.filters };
    const child = egress.root ? egress.qdiscs.find((q) => q.parent === `${egress.root?.handle}1`) : undefined;
    for (const q of [now.reported, ...egress.qdiscs, ingress.qdisc, ingress.own?.ifbTree.root])
      if (q && !state.qdiscs.includes(q)) state.qdiscs.push(q);
    const shaping = [egress.root, child].filter((q): q is Qdisc => q !== undefined);
    if (egress.qdiscs.length > (child ? 1 : 0)) state.foreign = true;
    for (const q of shaping) {
      if (q.kind === "netem" && q.options) {
        const f = netemFields(q.options);
        // A tbf's rate wins over netem's own when both are there.
        if (state.rate !== undefined) delete f.rate;
        Object.assign(state, f);
      } else if (q.kind === "tbf" && q.options) Object.assign(state, tbfFields(q.options));
      else state.foreign = true;
    }
    const ifbTbf = ingress.own?.ifbTree.root;
    if (ingress.own && ifbTbf?.kind === "tbf" && ifbTbf.options) {
      const t = ifbTbf.options;
      state.ingress = {
        rate: t.rate,
        burst: t.burst,
        ifb: ingress.own.ifb.name,
        ...(t.latency !== undefined ? { latency: t.latency } : {}),
      };
    }
    return state;
  });
}
