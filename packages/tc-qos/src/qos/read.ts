// The reads a QoS plan does before it changes anything, so that every step's undo puts back
// exactly what was found: the egress tree, the ingress qdisc and its filters, applyQos's own
// ifb redirect (and the ifb's tree), and whatever holds the name an ifb would take.
import type { Link, LinkRef } from "@vmnet/netlink-native";
import { type LinkQdiscs, linkReader } from "../batch-read.js";
import type { Filter, Qdisc, Tc } from "../tc.js";
import { isRedirectToAny, QOS_INGRESS_PRIO } from "./common.js";
import { ifbMarkOf } from "./ifb.js";
import { type EgressTree, isSimpleTree, readTree } from "./tree.js";

export interface Ingress {
  qdisc?: Qdisc;
  /** Where filters attach: "ffff:" on ingress, "ingress" on clsact. */
  filterParent: string;
  filters: Filter[];
  /** The ifb redirect applyQos made, when there is one, with the ifb's own tree. */
  own?: { filter: Filter; ifb: Link; ifbTree: EgressTree };
}

export interface LinkState {
  ifindex: number;
  egress: EgressTree;
  ingress: Ingress;
  /** What the link reported at its root, default qdisc included (getQos shows it). */
  reported?: Qdisc;
}

const LEAF_KINDS = new Set(["pfifo", "bfifo", "pfifo_fast", "noqueue", "pfifo_head_drop"]);

/** The egress tree from a first read: complete when the read holds it all, else read in full. */
export async function egressOf(tc: Tc, q: LinkQdiscs): Promise<EgressTree> {
  const root = q.root;
  if (!root || root.handle === "0:") return { ifindex: q.ifindex, qdiscs: [], classes: [], filters: [] };
  if (q.all) return readTree(tc, q.ifindex, q.all);
  const simple = (root.kind === "netem" || root.kind === "tbf") && (!q.child || LEAF_KINDS.has(q.child.kind));
  if (simple && isSimpleTree([root, ...(q.child ? [q.child] : [])]))
    return { ifindex: q.ifindex, root, qdiscs: q.child ? [q.child] : [], classes: [], filters: [] };
  return readTree(tc, q.ifindex);
}

export async function readIngress(tc: Tc, ifindex: number, qdisc: Qdisc | undefined): Promise<Ingress> {
  if (!qdisc || (qdisc.kind !== "ingress" && qdisc.kind !== "clsact"))
    return { filterParent: "ffff:", filters: [] };
  const filterParent = qdisc.kind === "clsact" ? "ingress" : "ffff:";
  const filters = await tc.filters.list(ifindex, filterParent);
  const out: Ingress = { qdisc, filterParent, filters };
  for (const f of filters) {
    const target = f.prio === QOS_INGRESS_PRIO ? isRedirectToAny(f) : undefined;
    if (target === undefined) continue;
    const ifb = await (await tc.rtnl()).links.find(target);
    if (!ifb || !ifbMarkOf(ifb)) continue;
    out.own = { filter: f, ifb, ifbTree: await readTree(tc, ifb.index) };
  }
  return out;
}

/** No ingress qdisc applyQos could have attached filters to: nothing more to read there. */
const NO_INGRESS_FILTERS = (q: LinkQdiscs) =>
  !q.ingress || (q.ingress.kind !== "ingress" && q.ingress.kind !== "clsact");

/**
 * Everything a QoS plan for `link` needs to know before it changes anything. The common case
 * (a default root or one netem/tbf, no ingress filters: what a batch read already shows in full)
 * is answered from the first read alone, without further requests or awaits.
 */
export function readLinkState(tc: Tc, link: LinkRef, full = false): Promise<LinkState> {
  return linkReader(tc)
    .read(link, full)
    .then((now) => stateOf(tc, now));
}

/**
 * The states of many links, from one qdisc dump however few they are (applyQosMany): one promise
 * per link, settled as soon as that link's state is known.
 */
export function readLinkStates(tc: Tc, links: readonly LinkRef[]): Promise<LinkState>[] {
  return linkReader(tc)
    .readEach(links)
    .map((read) => read.then((now) => stateOf(tc, now)));
}

/** A link's state from its first read: at once in the common case, else after further reads. */
function stateOf(tc: Tc, now: LinkQdiscs): LinkState | Promise<LinkState> {
  if (NO_INGRESS_FILTERS(now)) {
    const quick = quickEgress(now);
    if (quick) return withReported({ ifindex: now.ifindex, egress: quick, ingress: noIngress() }, now);
    return egressOf(tc, now).then((egress) =>
      withReported({ ifindex: now.ifindex, egress, ingress: noIngress() }, now),
    );
  }
  return Promise.all([egressOf(tc, now), readIngress(tc, now.ifindex, now.ingress)]).then(
    ([egress, ingress]) => withReported({ ifindex: now.ifindex, egress, ingress }, now),
  );
}

const noIngress = (): Ingress => ({ filterParent: "ffff:", filters: [] });

function withReported(state: LinkState, now: LinkQdiscs): LinkState {
  if (now.root) state.reported = now.root;
  return state;
}

/** The egress tree when the first read holds all of it and it needs no class or filter dump. */
function quickEgress(q: LinkQdiscs): EgressTree | undefined {
  const root = q.root;
  if (!root || root.handle === "0:") return { ifindex: q.ifindex, qdiscs: [], classes: [], filters: [] };
  if (!q.all) return undefined;
  // What treeOf() keeps of a dump's qdiscs, when nothing in it can carry classes or filters.
  const egress = q.all.filter((x) => x.kind !== "ingress" && x.kind !== "clsact" && x.parent !== "ingress");
  if (!isSimpleTree(egress)) return undefined;
  return {
    ifindex: q.ifindex,
    root,
    qdiscs: egress.filter((x) => x !== root && x.handle !== "0:"),
    classes: [],
    filters: [],
  };
}
