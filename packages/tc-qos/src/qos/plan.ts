// planQos: a link's QoS change as steps ({ name, run, undo }), each one netlink request, each
// undo putting back exactly what the reads done up front found. applyQos and removeQos are
// runPlan over these; a composition layer can splice them into larger plans.
import type { LinkRef, Rtnl } from "@vmnet/netlink-native";
import { type Step, step } from "@vmnet/netlink-native/plan";
import { TC_H_ROOT } from "../constants.js";
import { TcInputError } from "../errors.js";
import { parseHandle } from "../handle.js";
import { qdiscKinds } from "../kinds/index.js";
import type { QdiscKind } from "../kinds/kind.js";
import type { NetemParsed } from "../kinds/netem.js";
import type { TbfParsed } from "../kinds/tbf.js";
import { qdiscDeleteRequest, qdiscRequest } from "../requests.js";
import type { Tc } from "../tc.js";
import { type Duration, parseTime } from "../units.js";
import { check } from "../validate.js";
import { ignoreMissing, QOS_INGRESS_PRIO, redirectActionIndex, redirectFilter } from "./common.js";
import { DEFAULT_OWNER, ifbMark, ifbMarkOf, isLeftover, provisionalIfbName } from "./ifb.js";
import { type Ingress, type LinkState, readLinkState, readLinkStates } from "./read.js";
import {
  DEFAULT_LATENCY,
  defaultBurst,
  NETEM_KEYS,
  type QosParsed,
  type QosSpec,
  qosSchema,
} from "./schema.js";
import { type EgressTree, readTree, restoreTree } from "./tree.js";

export interface QosPlanOptions {
  /** Owner written in the marks of the ifb links the plan creates (default "vmnet"). */
  owner?: string;
}

const majorOf = (handle: string): number => parseHandle(handle) >>> 16;
const hex = (n: number): string => n.toString(16);
const DEFAULT_LATENCY_PARSED = parseTime(DEFAULT_LATENCY);

/**
 * Options derived from a parsed spec, by that spec: parsed specs are shared and never mutated
 * (validate.ts), so a thousand links given one spec share one options object, and with it one
 * encoding of the request (requests.ts caches by options object).
 */
const derived = new WeakMap<object, { tbf?: TbfParsed; netem?: NetemParsed }>();

function derivedOf(p: object): { tbf?: TbfParsed; netem?: NetemParsed } {
  let d = derived.get(p);
  if (!d) {
    d = {};
    derived.set(p, d);
  }
  return d;
}

function tbfOptions(p: Parameters<typeof buildTbfOptions>[0]): TbfParsed {
  const d = derivedOf(p);
  d.tbf ??= buildTbfOptions(p);
  return d.tbf;
}

/** tbf options from parsed QoS fields, with applyQos's defaults filled in. */
function buildTbfOptions(p: {
  rate?: number;
  burst?: { bytes: number; cellLog?: number };
  latency?: Duration;
  peakrate?: number;
  mtu?: { bytes: number; cellLog?: number };
}): TbfParsed {
  const rate = p.rate as number;
  const out: TbfParsed = {
    rate,
    burst: p.burst ?? { bytes: defaultBurst(rate) },
    latency: p.latency ?? DEFAULT_LATENCY_PARSED,
  };
  if (p.peakrate !== undefined) out.peakrate = p.peakrate;
  if (p.mtu !== undefined) out.mtu = p.mtu;
  return out;
}

function netemOptions(p: QosParsed): NetemParsed {
  const d = derivedOf(p);
  d.netem ??= buildNetemOptions(p);
  return d.netem;
}

function buildNetemOptions(p: QosParsed): NetemParsed {
  const out: Record<string, unknown> = {};
  for (const k of NETEM_KEYS) if (p[k] !== undefined) out[k] = p[k];
  return out as NetemParsed;
}

/** Replaces the qdisc at a place with already validated options (the spec was checked once). */
function replaceQdisc(
  tc: Tc,
  ifindex: number,
  label: string,
  kind: "netem" | "tbf",
  address: { handle: number; parent: number },
  options: NetemParsed | TbfParsed,
): Promise<void> {
  const req = qdiscRequest(
    "replace",
    ifindex,
    { kind: qdiscKinds[kind] as QdiscKind, address, options },
    tc.codec,
  );
  return tc.send(req, { op: `qdisc replace ${kind}`, object: label }).then(() => undefined);
}

function planEgress(tc: Tc, ifindex: number, label: string, spec: QosParsed, egress: EgressTree): Step[] {
  const wantNetem = NETEM_KEYS.some((k) => spec[k] !== undefined);
  const wantTbf = spec.rate !== undefined;
  const undo = () => restoreTree(tc, egress);
  const { root } = egress;
  const child = root ? egress.qdiscs.find((q) => q.parent === `${root.handle}1`) : undefined;
  if (!wantNetem && !wantTbf) {
    if (!root) return [];
    return [
      step(
        `delete root ${root.kind}`,
        () => tc.send(qdiscDeleteRequest(ifindex), { op: "qdisc del", object: label }).then(() => undefined),
        undo,
      ),
    ];
  }
  const kind = wantNetem ? "netem" : "tbf";
  // The kernel changes a qdisc in place only when the kind is the same; another kind needs
  // another handle, which grafts the new tree over the old one in one step.
  const sameRoot = root?.kind === kind;
  const major = sameRoot && root ? majorOf(root.handle) : root && majorOf(root.handle) === 1 ? 2 : 1;
  const rootOptions = wantNetem ? netemOptions(spec) : tbfOptions(spec);
  const steps: Step[] = [
    step(
      `replace root ${kind}`,
      () => replaceQdisc(tc, ifindex, label, kind, { handle: major << 16, parent: TC_H_ROOT }, rootOptions),
      undo,
    ),
  ];
  if (wantNetem && wantTbf) {
    const keepChild = sameRoot && child?.kind === "tbf";
    const childMajor =
      keepChild && child
        ? majorOf(child.handle)
        : sameRoot && child && majorOf(child.handle) === 0x10
          ? 0x11
          : 0x10;
    steps.push(
      step(
        "replace tbf under netem",
        () =>
          replaceQdisc(
            tc,
            ifindex,
            label,
            "tbf",
            { handle: childMajor << 16, parent: (major << 16) | 1 },
            tbfOptions(spec),
          ),
        undo,
      ),
    );
  } else if (sameRoot && child) {
    steps.push(
      step(
        `delete ${child.kind} under ${kind}`,
        () => tc.qdiscs.delete(ifindex, { parent: `${hex(major)}:1`, handle: child.handle }),
        undo,
      ),
    );
  }
  return steps;
}

/** Where the ifb's index lives while a plan runs: created, adopted or recreated by an undo. */
interface IfbRef {
  index: number;
}

function createIfbSteps(rtnl: Rtnl, name: string, owner: string, ref: IfbRef): Step[] {
  let provisional = "";
  return [
    step(
      `create ifb "${name}"`,
      async () => {
        // Down and under a name that proves whose it is, until the next step names and marks it.
        provisional = provisionalIfbName();
        ref.index = (await rtnl.links.add({ kind: "ifb", name: provisional })).index;
      },
      async () => {
        await rtnl.links.delete(ref.index);
      },
    ),
    step(
      `name and mark ifb "${name}"`,
      () => rtnl.links.set(ref.index, { name, alias: ifbMark(owner), up: true }),
      // Puts the provisional name back (down first: a link is renamed only while down).
      async () => {
        await rtnl.links.set(ref.index, { up: false });
        await rtnl.links.set(ref.index, { name: provisional, alias: "" });
      },
    ),
  ];
}

async function planIngress(
  tc: Tc,
  ifindex: number,
  spec: QosParsed,
  ingress: Ingress,
  owner: string,
): Promise<Step[]> {
  // Nothing asked for at ingress and nothing of applyQos's there: no steps (and no await).
  if (!spec.ingress && !ingress.own) return [];
  const rtnl = await tc.rtnl();
  const steps: Step[] = [];
  const parent = ingress.filterParent;
  const own = ingress.own;
  if (spec.ingress) {
    const want = spec.ingress;
    const name = own?.ifb.name ?? want.ifb ?? `qosin${ifindex}`;
    const ref: IfbRef = { index: own?.ifb.index ?? 0 };
    let ifbTree: EgressTree | undefined = own?.ifbTree;
    if (own && isLeftover(own.ifb)) {
      // A dead process's complete shaper: taken over, and marked as this process's.
      const ifb = own.ifb;
      steps.push(
        step(
          `adopt ifb "${name}"`,
          () => rtnl.links.set(ifb.index, { alias: ifbMark(owner) }),
          () => rtnl.links.set(ifb.index, { alias: ifb.alias ?? "" }),
        ),
      );
    }
    if (!own) {
      const existing = await rtnl.links.find(name);
      if (!existing) steps.push(...createIfbSteps(rtnl, name, owner, ref));
      else {
        const mark = ifbMarkOf(existing);
        const mine = mark?.pid === process.pid;
        // A dead process's ifb (kill -9 mid-apply) is taken over; anything else is not touched.
        if (!(mine || isLeftover(existing, owner)))
          throw new TcInputError(
            "qos.ingress.ifb",
            mark
              ? `the ifb "${name}" belongs to a running process (pid ${mark.pid})`
              : `a link named "${name}" exists that vmnet-tc-qos did not create`,
          );
        ref.index = existing.index;
        ifbTree = await readTree(tc, existing.index);
        steps.push(
          step(
            `adopt ifb "${name}"`,
            () => rtnl.links.set(existing.index, { alias: ifbMark(owner), up: true }),
            () => rtnl.links.set(existing.index, { alias: existing.alias ?? "", up: existing.up }),
          ),
        );
      }
    }
    const before = ifbTree;
    steps.push(
      step(
        `replace tbf on ifb "${name}"`,
        () =>
          replaceQdisc(tc, ref.index, name, "tbf", { handle: 1 << 16, parent: TC_H_ROOT }, tbfOptions(want)),
        // A created ifb is deleted by its own undo, qdisc and all.
        async () => {
          if (before) await restoreTree(tc, { ...before, ifindex: ref.index });
        },
      ),
    );
    if (!ingress.qdisc) {
      steps.push(
        step(
          "add ingress qdisc",
          () => tc.qdiscs.add(ifindex, { kind: "ingress" }),
          () => tc.qdiscs.delete(ifindex, { kind: "ingress" }),
        ),
      );
    }
    if (!own) {
      steps.push(
        step(
          "redirect ingress to the ifb",
          () => tc.filters.add(ifindex, redirectFilter(parent, QOS_INGRESS_PRIO, ref.index)),
          () => ignoreMissing(tc.filters.delete(ifindex, { parent, prio: QOS_INGRESS_PRIO })),
        ),
      );
    }
    return steps;
  }
  if (!own) return steps;
  const ref: IfbRef = { index: own.ifb.index };
  const others = ingress.filters.filter((f) => f.prio !== QOS_INGRESS_PRIO);
  const readd = () =>
    tc.filters.add(
      ifindex,
      redirectFilter(parent, QOS_INGRESS_PRIO, ref.index, own.filter.handle, redirectActionIndex(own.filter)),
    );
  if (others.length === 0 && ingress.qdisc?.kind === "ingress") {
    steps.push(
      step(
        "delete ingress qdisc",
        () => tc.qdiscs.delete(ifindex, { kind: "ingress" }),
        async () => {
          await tc.qdiscs.add(ifindex, { kind: "ingress" });
          await readd();
        },
      ),
    );
  } else {
    steps.push(
      step(
        "delete ingress redirect",
        () => tc.filters.delete(ifindex, { parent, prio: QOS_INGRESS_PRIO }),
        readd,
      ),
    );
  }
  const ifb = own.ifb;
  steps.push(
    step(
      `delete ifb "${ifb.name}"`,
      () => rtnl.links.delete(ifb.index),
      // The kernel gives a new link a new index: the filter's undo (run next) reads it from ref.
      async () => {
        ref.index = (await rtnl.links.add({ kind: "ifb", name: ifb.name })).index;
        await rtnl.links.set(ref.index, { alias: ifb.alias ?? "", up: ifb.up });
        await restoreTree(tc, { ...own.ifbTree, ifindex: ref.index });
      },
    ),
  );
  return steps;
}

/**
 * The steps that take a link from `state` (read up front) to `spec` (already validated): at once
 * when nothing is asked for or found at ingress (the common case), else after the ingress reads.
 */
export function planFromState(
  tc: Tc,
  label: string,
  state: LinkState,
  spec: QosParsed,
  options: QosPlanOptions = {},
): Step[] | Promise<Step[]> {
  const egress = planEgress(tc, state.ifindex, label, spec, state.egress);
  if (!spec.ingress && !state.ingress.own) return egress;
  return planIngress(tc, state.ifindex, spec, state.ingress, options.owner ?? DEFAULT_OWNER).then(
    (ingress) => [...egress, ...ingress],
  );
}

/**
 * The steps that give `link` the QoS `spec` (see applyQos), after reading what it has now. Run
 * them with runPlan (from @vmnet/netlink-native/plan), on the same open `tc`.
 */
export async function planQos(
  tc: Tc,
  link: LinkRef,
  spec: QosSpec,
  options: QosPlanOptions = {},
): Promise<Step[]> {
  return planParsedQos(tc, link, check(qosSchema, spec, "qos"), options);
}

/** planQos for a spec already validated (applyQos checks it before opening a socket). */
export function planParsedQos(
  tc: Tc,
  link: LinkRef,
  parsed: QosParsed,
  options: QosPlanOptions = {},
): Promise<Step[]> {
  return readLinkState(tc, link).then((state) => planFromState(tc, String(link), state, parsed, options));
}

/**
 * The plans for many links at once (applyQosMany): every link's state read by one qdisc dump,
 * then each link's steps from its state, one promise per link (settled as soon as that link is
 * read, so the first links' requests can leave while later names are still being resolved).
 * `specs[i]` is for `links[i]` (already validated; an empty spec removes the link's QoS).
 */
export function planManyQos(
  tc: Tc,
  links: readonly LinkRef[],
  specs: readonly QosParsed[],
  options: QosPlanOptions = {},
): Promise<Step[]>[] {
  return readLinkStates(tc, links).map((state, i) =>
    state.then((s) => planFromState(tc, String(links[i]), s, specs[i] as QosParsed, options)),
  );
}

/** The steps that remove `link`'s QoS (see removeQos). */
export function planRemoveQos(tc: Tc, link: LinkRef, options: QosPlanOptions = {}): Promise<Step[]> {
  return readLinkState(tc, link).then((state) => planFromState(tc, String(link), state, REMOVE_ALL, options));
}

/** The spec that asks for nothing: planned against a link's state, it removes all applyQos set. */
const REMOVE_ALL = Object.freeze({}) as QosParsed;
