// A link's whole egress tree (qdiscs, classes, filters) as the kernel reports it, and how to put
// it back exactly. applyQos grafts its own tree over whatever the link had (someone's htb with
// classes and filters included); when a later step fails, the undo rebuilds what was there from
// the kernel's own bytes (raw TCA_OPTIONS), parents before children, not just the root.
import { NetlinkError } from "@vmnet/netlink-native";
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_NEWQDISC,
  RTM_NEWTCLASS,
  RTM_NEWTFILTER,
} from "@vmnet/netlink-native/codec";
import * as C from "../constants.js";
import { filterKind } from "../filters/registry.js";
import { parseFilterParent, parseHandle } from "../handle.js";
import { qdiscKind } from "../kinds/index.js";
import { htons, type TcRequest, tcRequest } from "../messages.js";
import {
  classDeleteRequest,
  classDumpRequest,
  filterDeleteRequest,
  filterDumpRequest,
  parseProtocol,
  qdiscDeleteRequest,
  qdiscDumpRequest,
  qdiscRawRequest,
} from "../requests.js";
import {
  decodeClass,
  decodeFilter,
  decodeQdisc,
  type Filter,
  type Qdisc,
  type Tc,
  type TcClass,
} from "../tc.js";

/** Everything below a link's root, as found: what a rollback must rebuild. */
export interface EgressTree {
  ifindex: number;
  /** The root qdisc someone created; absent when the link runs its default (handle 0). */
  root?: Qdisc;
  /** Qdiscs under the root (not the root, not ingress/clsact, not the kernel's default ones). */
  qdiscs: Qdisc[];
  /** Classes of classful qdiscs (also tbf's and netem's single pseudo-class, kept for comparison). */
  classes: TcClass[];
  /** Filters attached to the tree's qdiscs and classes. */
  filters: Filter[];
}

/** Kinds whose qdiscs never carry filters (no tcf block): no filter dump is needed for them. */
const NO_FILTERS = new Set([
  "netem",
  "tbf",
  "pfifo",
  "bfifo",
  "pfifo_fast",
  "noqueue",
  "pfifo_head_drop",
  "sfq",
  "codel",
  "fq",
  "fq_codel",
]);
/** Kinds whose classes are created by requests (the others' come with their qdisc). */
const ADDABLE_CLASSES = new Set(["htb", "hfsc", "drr", "qfq", "cbq"]);
/** Kinds that cannot hang under a class (they sit at fixed places). */
const INGRESS_KINDS = new Set(["ingress", "clsact"]);

/** True when the snapshot holds nothing but kinds that have no classes or filters of their own. */
export function isSimpleTree(qdiscs: readonly Qdisc[]): boolean {
  return qdiscs.every((q) => NO_FILTERS.has(q.kind) || INGRESS_KINDS.has(q.kind));
}

async function dumpFilters(tc: Tc, ifindex: number, parent: number): Promise<Filter[]> {
  try {
    const msgs = await tc.dump(filterDumpRequest(ifindex, parent), {
      op: "filter list",
      object: String(ifindex),
    });
    return msgs.filter((m) => m.type === RTM_NEWTFILTER).map((m) => decodeFilter(m));
  } catch (e) {
    // A parent without a filter block (a class of a kind that has none) answers EOPNOTSUPP/EINVAL.
    if (e instanceof NetlinkError && (e.code === "EOPNOTSUPP" || e.code === "EINVAL")) return [];
    throw e;
  }
}

/** Reads the whole egress tree of a link: one qdisc dump, one class dump, a filter dump per place. */
export async function readTree(tc: Tc, ifindex: number, known?: readonly Qdisc[]): Promise<EgressTree> {
  // Qdiscs read here are decoded in full (getQos shows their options); batches pass their own.
  const all =
    known ??
    (await tc.dump(qdiscDumpRequest(ifindex), { op: "qdisc list", object: String(ifindex) }))
      .filter((m) => m.type === RTM_NEWQDISC)
      .map((m) => decodeQdisc(m, tc.codec))
      .filter((q) => q.ifindex === ifindex);
  return treeOf(tc, ifindex, all);
}

async function treeOf(tc: Tc, ifindex: number, all: readonly Qdisc[]): Promise<EgressTree> {
  const egress = all.filter((q) => !INGRESS_KINDS.has(q.kind) && q.parent !== "ingress");
  const rootQ = egress.find((q) => q.parent === "root");
  const tree: EgressTree = { ifindex, qdiscs: [], classes: [], filters: [] };
  if (!rootQ || rootQ.handle === "0:") return tree;
  tree.root = rootQ;
  tree.qdiscs = egress.filter((q) => q !== rootQ && q.handle !== "0:");
  if (isSimpleTree(egress)) return tree;
  const msgs = await tc.dump(classDumpRequest(ifindex), { op: "class list", object: String(ifindex) });
  tree.classes = msgs
    .filter((m) => m.type === RTM_NEWTCLASS)
    .map((m) => decodeClass(m, tc.codec))
    .map(({ stats: _s, ...c }) => c as TcClass);
  const places = [
    ...[tree.root, ...tree.qdiscs].filter((q) => !NO_FILTERS.has(q.kind)).map((q) => parseHandle(q.handle)),
    ...tree.classes.filter((c) => ADDABLE_CLASSES.has(c.kind)).map((c) => parseHandle(c.classid)),
  ];
  const lists = await Promise.all(places.map((p) => dumpFilters(tc, ifindex, p)));
  tree.filters = lists.flat().map(({ stats: _s, ...f }) => f as Filter);
  return tree;
}

const ctx = (ifindex: number, what: string) => ({ op: `restore ${what}`, object: String(ifindex) });

function classRaw(ifindex: number, c: TcClass, flags: number): TcRequest {
  return tcRequest(
    RTM_NEWTCLASS,
    flags,
    { ifindex, handle: parseHandle(c.classid), parent: parseHandle(c.parent) },
    c.kind,
    (w) => {
      if (c.rawOptions) w.attr(C.TCA_OPTIONS, c.rawOptions);
    },
  );
}

/** u32 hash tables the kernel made itself (one per priority: ids from 0x800 up) come back with their first key. */
function isKernelHashTable(f: Filter): boolean {
  return f.kind === "u32" && (f.handle & 0xfffff) === 0 && f.handle >>> 31 === 1;
}

function filterInfo(f: Filter): number {
  return ((f.prio << 16) | htons(parseProtocol(f.protocol))) >>> 0;
}

function filterRaw(ifindex: number, f: Filter): TcRequest {
  return tcRequest(
    RTM_NEWTFILTER,
    NLM_F_CREATE | NLM_F_EXCL,
    { ifindex, handle: f.handle, parent: parseFilterParent(f.parent), info: filterInfo(f) },
    undefined,
    (w) => {
      if (f.chain !== undefined) w.u32(C.TCA_CHAIN, f.chain);
      w.string(C.TCA_KIND, f.kind);
      if (f.rawOptions) {
        const restore = filterKind(f.kind)?.restore;
        w.attr(C.TCA_OPTIONS, restore ? restore(f.rawOptions) : f.rawOptions);
      }
    },
  );
}

async function ignoreGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === "ENOENT" || e.code === "EINVAL" || e.code === "ENODEV"))
      return;
    throw e;
  }
}

const sameQdisc = (a: Qdisc, b: Qdisc) => a.handle === b.handle && a.kind === b.kind && a.parent === b.parent;
const rawQ = (q: Qdisc) => {
  const restore = qdiscKind(q.kind)?.restore;
  return {
    kind: q.kind,
    handle: parseHandle(q.handle),
    parent: parseHandle(q.parent),
    ...(q.rawOptions ? { options: restore ? restore(q.rawOptions) : q.rawOptions } : {}),
  };
};

/**
 * Puts a link's egress tree back to `want` (read before a change): the root, then qdiscs and
 * classes parents first, then the filters. Objects still in place are changed back in place;
 * objects the change added are deleted. Reads the link's current tree first (undo is the rare path).
 */
export async function restoreTree(tc: Tc, want: EgressTree): Promise<void> {
  const { ifindex } = want;
  let now = await readTree(tc, ifindex);
  if (!want.root) {
    if (now.root) await ignoreGone(tc.send(qdiscDeleteRequest(ifindex), ctx(ifindex, "qdisc")));
    return;
  }
  const root = want.root;
  if (now.root && now.root.handle === root.handle && now.root.kind !== root.kind)
    await tc.send(qdiscDeleteRequest(ifindex), ctx(ifindex, "qdisc"));
  // Same handle and kind: changed in place (what hangs under it stays); otherwise grafted anew.
  await tc.send(qdiscRawRequest("replace", ifindex, rawQ(root)), ctx(ifindex, `qdisc ${root.kind}`));
  now = await readTree(tc, ifindex);
  // Qdiscs and classes the change added (not in the snapshot) go first, children before parents.
  for (const q of now.qdiscs.slice().reverse())
    if (!want.qdiscs.some((w) => sameQdisc(w, q)))
      await ignoreGone(
        tc.send(qdiscDeleteRequest(ifindex, { parent: q.parent, handle: q.handle }), ctx(ifindex, "qdisc")),
      );
  for (const c of now.classes)
    if (ADDABLE_CLASSES.has(c.kind) && !want.classes.some((w) => w.classid === c.classid))
      await ignoreGone(tc.send(classDeleteRequest(ifindex, { classid: c.classid }), ctx(ifindex, "class")));
  // Then what the snapshot had, each once its parent exists.
  // Top-level classes report their parent as "root" (the qdisc itself).
  const present = new Set<string>([root.handle, "root"]);
  const pending: ({ q: Qdisc } | { c: TcClass })[] = [
    ...want.classes.filter((c) => ADDABLE_CLASSES.has(c.kind)).map((c) => ({ c })),
    ...want.qdiscs.map((q) => ({ q })),
  ];
  const known = new Set(want.classes.map((c) => c.classid));
  while (pending.length > 0) {
    const i = pending.findIndex((p) => {
      const parent = "q" in p ? p.q.parent : p.c.parent;
      const major = `${parent.split(":")[0]}:`;
      // A class's parent is its qdisc ("1:") or another class; a qdisc hangs under a class.
      return present.has(parent) || (!known.has(parent) && present.has(major));
    });
    const next = pending.splice(i === -1 ? 0 : i, 1)[0] as { q: Qdisc } | { c: TcClass };
    if ("c" in next) {
      const c = next.c;
      // CREATE without EXCL: adds a missing class, changes an existing one back.
      await tc.send(classRaw(ifindex, c, NLM_F_CREATE), ctx(ifindex, `class ${c.classid}`));
      present.add(c.classid);
    } else {
      const q = next.q;
      const there = now.qdiscs.find((x) => x.handle === q.handle);
      if (there && there.kind !== q.kind)
        await ignoreGone(
          tc.send(
            qdiscDeleteRequest(ifindex, { parent: there.parent, handle: there.handle }),
            ctx(ifindex, "qdisc"),
          ),
        );
      await tc.send(qdiscRawRequest("replace", ifindex, rawQ(q)), ctx(ifindex, `qdisc ${q.kind}`));
      present.add(q.handle);
    }
  }
  // Filters: a place whose filters differ from the snapshot's is emptied and refilled in order.
  const after = await readTree(tc, ifindex);
  const key = (f: Filter) => `${f.parent} ${f.prio} ${f.protocol} ${f.handle} ${f.kind} ${f.chain ?? ""}`;
  const parents = new Set([...want.filters, ...after.filters].map((f) => f.parent));
  for (const parent of parents) {
    const w = want.filters.filter((f) => f.parent === parent);
    const n = after.filters.filter((f) => f.parent === parent);
    if (w.length === n.length && w.every((f, i) => key(f) === key(n[i] as Filter))) continue;
    if (n.length > 0)
      await ignoreGone(tc.send(filterDeleteRequest(ifindex, { parent }), ctx(ifindex, "filters")));
    for (const f of w)
      if (!isKernelHashTable(f)) await tc.send(filterRaw(ifindex, f), ctx(ifindex, `filter ${f.id}`));
  }
}
