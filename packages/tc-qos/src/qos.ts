// QoS as minimega offers it (loss, delay, rate on a tap), without its limits: loss/delay and rate
// combine (netem at the root with a tbf under it), every netem option is there, what a VM sends
// can be shaped too (the link's ingress redirected to an ifb with a tbf), and the state is read
// back from the kernel, whoever set it. Changes run as steps with undo: when one fails, the link
// is put back as it was and QosApplyError says which step failed.
import { type Link, type LinkRef, NetlinkError, type NetnsRef } from "@vmnet/netlink-native";
import { z } from "zod";
import { type LinkQdiscs, linkReader } from "./batch-read.js";
import { TC_H_ROOT } from "./constants.js";
import { TcInputError } from "./errors.js";
import { parseHandle } from "./handle.js";
import { qdiscKinds } from "./kinds/index.js";
import type { QdiscKind } from "./kinds/kind.js";
import { type NetemInfo, type NetemParsed, netemShape, refineNetem } from "./kinds/netem.js";
import type { TbfInfo, TbfParsed } from "./kinds/tbf.js";
import { qdiscDeleteRequest, qdiscRawRequest, qdiscRequest } from "./requests.js";
import { runSteps, type Step } from "./steps.js";
import { type Filter, type Qdisc, Tc, type TcClass } from "./tc.js";
import { type Duration, parseTime } from "./units.js";
import { check, positiveRate, sizeAndCell, time } from "./validate.js";

/** Alias carried by the ifb links applyQos creates (its ownership mark: nothing else is deleted). */
export const QOS_IFB_ALIAS = "vmnet-tc-qos ingress";
/** Priority of the ingress filter that sends a link's incoming traffic to its ifb. */
export const QOS_INGRESS_PRIO = 10;
/** Priority of redirect()'s filters (Kata's tc-redirect wiring). */
export const REDIRECT_PRIO = 1;

/** Default tbf bucket: 10 ms of the rate, at least 16 KiB (a few full-size packets). */
export function defaultBurst(bytesPerSecond: number): number {
  return Math.max(Math.ceil(bytesPerSecond / 100), 16 * 1024);
}
/** Default tbf queue: as much as 50 ms of the rate (tc's "latency"). */
export const DEFAULT_LATENCY = "50ms";

const {
  rate: _netemRate,
  packetOverhead: _po,
  cellSize: _cs,
  cellOverhead: _co,
  ...netemQosShape
} = netemShape;
const NETEM_KEYS = Object.keys(netemQosShape) as (keyof typeof netemQosShape)[];

const burstSchema = sizeAndCell.refine((b) => b.bytes > 0, "must be greater than 0");

const ingressSchema = z
  .object({
    /** Rate for what the link receives (what a VM sends into its tap). */
    rate: positiveRate,
    burst: burstSchema.optional(),
    latency: time.optional(),
    /** Name of the ifb link to shape on (default "qosin<ifindex>"); created and marked as ours. */
    ifb: z
      .string()
      .refine(
        (s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 15 && !/[/\s:]/.test(s),
        "must be an interface name of 1-15 bytes",
      )
      .optional(),
  })
  .strict();

export const qosSchema = z
  .object({
    ...netemQosShape,
    /** Rate limit (tbf). With loss/delay options, a tbf under the netem. */
    rate: positiveRate.optional(),
    /** tbf bucket (default: 10 ms of the rate, at least 16 KiB). */
    burst: burstSchema.optional(),
    /** Longest a packet waits in the tbf queue (default 50 ms). */
    latency: time.optional(),
    peakrate: positiveRate.optional(),
    mtu: sizeAndCell.optional(),
    /** Shape what the link receives, through an ifb. */
    ingress: ingressSchema.optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    refineNetem(o, ctx);
    for (const f of ["burst", "latency", "peakrate", "mtu"] as const)
      if (o[f] !== undefined && o.rate === undefined)
        ctx.addIssue({ code: "custom", path: [f], message: 'needs "rate"' });
    if (o.peakrate !== undefined && o.mtu === undefined)
      ctx.addIssue({ code: "custom", path: ["mtu"], message: 'is required with "peakrate"' });
    if (o.peakrate !== undefined && o.rate !== undefined && o.peakrate <= o.rate)
      ctx.addIssue({ code: "custom", path: ["peakrate"], message: 'must be greater than "rate"' });
  });

/**
 * What a link's QoS should be. Absent fields are not shaped: applyQos({ rate: "10mbit" }) on a
 * link with loss set before leaves only the rate. Units as tc writes them ("10mbit", "50ms", "1%").
 */
export type QosSpec = z.input<typeof qosSchema>;

export interface QosOptions {
  /** The namespace the link is in. */
  netns?: NetnsRef;
  /** An open handle to use (its namespace wins); saves opening a socket per call. */
  tc?: Tc;
}

/** Rates in bytes/s, sizes in bytes, times in microseconds, probabilities in percent points. */
export interface QosState
  extends Omit<NetemInfo, "rate" | "packetOverhead" | "cellSize" | "cellOverhead" | "limit"> {
  /** netem's queue limit (packets), when a netem is there. */
  limit?: number;
  /** The tbf's rate (or netem's own rate when there is no tbf). */
  rate?: number;
  burst?: number;
  latency?: number;
  peakrate?: number;
  mtu?: number;
  ingress?: { rate: number; burst: number; latency?: number; ifb: string };
  /** True when the root qdisc (or what hangs under it) is not netem/tbf, so the fields above do not tell all. */
  foreign: boolean;
  /** The qdiscs found: the root (also the link's default one), what hangs under it, ingress, the ifb's. */
  qdiscs: Qdisc[];
  /** The link's classes (htb and others), when its root is classful. */
  classes: TcClass[];
  /** The filters on the link's ingress qdisc. */
  ingressFilters: Filter[];
}

interface Egress {
  /** The root qdisc when it is one someone created (not the link's default, handle 0). */
  root?: Qdisc;
  /** The qdisc under a netem or tbf root, when there is one. */
  child?: Qdisc;
  /** What the kernel reported at the root, default or not. */
  reported?: Qdisc;
}

interface Ingress {
  qdisc?: Qdisc;
  /** Where filters attach: "ffff:" on ingress, "ingress" on clsact. */
  filterParent: string;
  filters: Filter[];
  /** The ifb redirect applyQos made, when there is one. */
  own?: { filter: Filter; ifb: Link; ifbRoot?: Qdisc };
}

const majorOf = (handle: string): number => parseHandle(handle) >>> 16;
const hex = (n: number): string => n.toString(16);

export async function withTc<T>(options: QosOptions, fn: (tc: Tc) => Promise<T>): Promise<T> {
  if (options.tc) return fn(options.tc);
  const tc = await Tc.open(options.netns === undefined ? {} : { netns: options.netns });
  try {
    return await fn(tc);
  } finally {
    tc.close();
  }
}

export async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === "ENOENT" || e.code === "EINVAL" || e.code === "ENODEV"))
      return;
    throw e;
  }
}

function egressOf(q: LinkQdiscs): Egress {
  const reported = q.root;
  if (!reported || reported.handle === "0:") return reported ? { reported } : {};
  return { root: reported, reported, ...(q.child ? { child: q.child } : {}) };
}

export function isRedirectToAny(f: Filter): number | undefined {
  if (f.kind !== "u32" || !f.options?.keys || f.options.actions.length !== 1) return undefined;
  const a = f.options.actions[0];
  if (a && a.kind === "mirred" && "direction" in a && a.direction === "egress" && a.action === "redirect")
    return a.ifindex;
  return undefined;
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
    if (ifb?.alias !== QOS_IFB_ALIAS) continue;
    const ifbRoot = await tc.qdiscs.get(ifb.index, "root");
    out.own = { filter: f, ifb, ...(ifbRoot && ifbRoot.handle !== "0:" ? { ifbRoot } : {}) };
  }
  return out;
}

/** Puts the egress tree back as it was read (root and what hung under it), from the kernel's own bytes. */
async function restoreEgress(tc: Tc, ifindex: number, prev: Egress): Promise<void> {
  const ctx = { op: "qdisc restore", object: String(ifindex) };
  if (!prev.root) {
    await ignoreMissing(tc.send(qdiscDeleteRequest(ifindex), ctx));
    return;
  }
  const raw = (q: Qdisc) => ({
    kind: q.kind,
    handle: parseHandle(q.handle),
    parent: parseHandle(q.parent),
    ...(q.rawOptions ? { options: q.rawOptions } : {}),
  });
  await tc.send(qdiscRawRequest("replace", ifindex, raw(prev.root)), ctx);
  if (prev.child) await tc.send(qdiscRawRequest("replace", ifindex, raw(prev.child)), ctx);
  else await ignoreMissing(tc.send(qdiscDeleteRequest(ifindex, { parent: `${prev.root.handle}1` }), ctx));
}

type QosParsed = z.output<typeof qosSchema>;
const DEFAULT_LATENCY_PARSED = parseTime(DEFAULT_LATENCY);

/** tbf options from parsed QoS fields, with applyQos's defaults filled in. */
function tbfOptions(p: {
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

function planEgress(tc: Tc, ifindex: number, label: string, spec: QosParsed, egress: Egress): Step[] {
  const wantNetem = NETEM_KEYS.some((k) => spec[k] !== undefined);
  const wantTbf = spec.rate !== undefined;
  const undo = () => restoreEgress(tc, ifindex, egress);
  const { root, child } = egress;
  if (!wantNetem && !wantTbf) {
    if (!root) return [];
    return [
      {
        name: `delete root ${root.kind}`,
        run: () =>
          tc.send(qdiscDeleteRequest(ifindex), { op: "qdisc del", object: label }).then(() => undefined),
        undo,
      },
    ];
  }
  const kind = wantNetem ? "netem" : "tbf";
  // The kernel changes a qdisc in place only when the kind is the same; another kind needs
  // another handle, which grafts the new tree over the old one in one step.
  const sameRoot = root?.kind === kind;
  const major = sameRoot && root ? majorOf(root.handle) : root && majorOf(root.handle) === 1 ? 2 : 1;
  const rootOptions = wantNetem ? netemOptions(spec) : tbfOptions(spec);
  const steps: Step[] = [
    {
      name: `replace root ${kind}`,
      run: () =>
        replaceQdisc(tc, ifindex, label, kind, { handle: major << 16, parent: TC_H_ROOT }, rootOptions),
      undo,
    },
  ];
  if (wantNetem && wantTbf) {
    const keepChild = sameRoot && child?.kind === "tbf";
    const childMajor =
      keepChild && child
        ? majorOf(child.handle)
        : sameRoot && child && majorOf(child.handle) === 0x10
          ? 0x11
          : 0x10;
    steps.push({
      name: "replace tbf under netem",
      run: () =>
        replaceQdisc(
          tc,
          ifindex,
          label,
          "tbf",
          { handle: childMajor << 16, parent: (major << 16) | 1 },
          tbfOptions(spec),
        ),
      undo,
    });
  } else if (sameRoot && child) {
    steps.push({
      name: `delete ${child.kind} under ${kind}`,
      run: () => tc.qdiscs.delete(ifindex, { parent: `${hex(major)}:1`, handle: child.handle }),
      undo,
    });
  }
  return steps;
}

export function redirectFilter(parent: string, prio: number, target: number, handle?: number) {
  return {
    kind: "u32" as const,
    parent,
    protocol: "all" as const,
    prio,
    ...(handle !== undefined ? { handle } : {}),
    matchAll: true,
    actions: [
      { kind: "mirred" as const, direction: "egress" as const, action: "redirect" as const, dev: target },
    ],
  };
}

async function planIngress(tc: Tc, ifindex: number, spec: QosParsed, ingress: Ingress): Promise<Step[]> {
  const rtnl = await tc.rtnl();
  const steps: Step[] = [];
  const parent = ingress.filterParent;
  const own = ingress.own;
  if (spec.ingress) {
    const want = spec.ingress;
    const ifbState: { index: number; created: boolean } = { index: own?.ifb.index ?? 0, created: false };
    if (!own) {
      const name = want.ifb ?? `qosin${ifindex}`;
      steps.push({
        name: `create ifb "${name}"`,
        run: async () => {
          const existing = await rtnl.links.find(name);
          if (existing) {
            // A leftover of ours (its filter gone) is taken over; anything else is not touched.
            if (existing.alias !== QOS_IFB_ALIAS)
              throw new TcInputError(
                "qos.ingress.ifb",
                `a link named "${name}" exists that vmnet-tc-qos did not create`,
              );
            ifbState.index = existing.index;
            if (!existing.up) await rtnl.links.up(existing.index);
            return;
          }
          const link = await rtnl.links.add({ kind: "ifb", name, alias: QOS_IFB_ALIAS, up: true });
          ifbState.index = link.index;
          ifbState.created = true;
        },
        undo: async () => {
          if (ifbState.created) await rtnl.links.delete(ifbState.index);
        },
      });
    }
    const prevIfbRoot = own?.ifbRoot;
    steps.push({
      name: "replace tbf on the ifb",
      run: () =>
        replaceQdisc(
          tc,
          ifbState.index,
          want.ifb ?? `qosin${ifindex}`,
          "tbf",
          { handle: 1 << 16, parent: TC_H_ROOT },
          tbfOptions(want),
        ),
      undo: async () => {
        if (ifbState.created) return; // deleting the ifb takes its qdisc along
        await restoreEgress(tc, ifbState.index, prevIfbRoot ? { root: prevIfbRoot } : {});
      },
    });
    if (!ingress.qdisc) {
      steps.push({
        name: "add ingress qdisc",
        run: () => tc.qdiscs.add(ifindex, { kind: "ingress" }),
        undo: () => tc.qdiscs.delete(ifindex, { kind: "ingress" }),
      });
    }
    if (!own) {
      steps.push({
        name: "redirect ingress to the ifb",
        run: () => tc.filters.add(ifindex, redirectFilter(parent, QOS_INGRESS_PRIO, ifbState.index)),
        undo: () => ignoreMissing(tc.filters.delete(ifindex, { parent, prio: QOS_INGRESS_PRIO })),
      });
    }
    return steps;
  }
  if (!own) return steps;
  const others = ingress.filters.filter((f) => f.prio !== QOS_INGRESS_PRIO);
  const readd = () => tc.filters.add(ifindex, redirectFilter(parent, QOS_INGRESS_PRIO, own.ifb.index));
  if (others.length === 0 && ingress.qdisc?.kind === "ingress") {
    steps.push({
      name: "delete ingress qdisc",
      run: () => tc.qdiscs.delete(ifindex, { kind: "ingress" }),
      undo: async () => {
        await tc.qdiscs.add(ifindex, { kind: "ingress" });
        await readd();
      },
    });
  } else {
    steps.push({
      name: "delete ingress redirect",
      run: () => tc.filters.delete(ifindex, { parent, prio: QOS_INGRESS_PRIO }),
      undo: readd,
    });
  }
  steps.push({ name: `delete ifb "${own.ifb.name}"`, run: () => rtnl.links.delete(own.ifb.index) });
  return steps;
}

/**
 * Sets a link's QoS: netem for loss/delay/duplicate/reorder/corrupt/slot, tbf for rate (under
 * the netem when both are asked for), an ifb + tbf for `ingress`. Whatever the link had before is
 * replaced; fields left out are removed. On failure the link keeps its previous QoS.
 */
export async function applyQos(link: LinkRef, spec: QosSpec, options: QosOptions = {}): Promise<void> {
  const parsed = check(qosSchema, spec, "qos");
  await withTc(options, async (tc) => {
    const now = await linkReader(tc).read(link, false);
    const ingress = await readIngress(tc, now.ifindex, now.ingress);
    const steps = [
      ...planEgress(tc, now.ifindex, String(link), parsed, egressOf(now)),
      ...(await planIngress(tc, now.ifindex, parsed, ingress)),
    ];
    await runSteps(String(link), steps);
  });
}

/** Removes a link's QoS: its root qdisc, and the ingress redirect and ifb applyQos made. */
export async function removeQos(link: LinkRef, options: QosOptions = {}): Promise<void> {
  await withTc(options, async (tc) => {
    const now = await linkReader(tc).read(link, false);
    const ingress = await readIngress(tc, now.ifindex, now.ingress);
    const steps = [
      ...planEgress(tc, now.ifindex, String(link), {}, egressOf(now)),
      ...(await planIngress(tc, now.ifindex, {}, ingress)),
    ];
    await runSteps(String(link), steps);
  });
}

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
    const now = await linkReader(tc).read(link);
    const ifindex = now.ifindex;
    const egress = egressOf(now);
    const [ingress, classes] = await Promise.all([
      readIngress(tc, ifindex, now.ingress),
      tc.classes.list(ifindex),
    ]);
    const state: QosState = { foreign: false, qdiscs: [], classes, ingressFilters: ingress.filters };
    for (const q of [egress.reported, egress.child, ingress.qdisc, ingress.own?.ifbRoot])
      if (q) state.qdiscs.push(q);
    const shaping = [egress.root, egress.child].filter((q): q is Qdisc => q !== undefined);
    for (const q of shaping) {
      if (q.kind === "netem" && q.options) {
        const f = netemFields(q.options);
        // A tbf's rate wins over netem's own when both are there.
        if (state.rate !== undefined) delete f.rate;
        Object.assign(state, f);
      } else if (q.kind === "tbf" && q.options) Object.assign(state, tbfFields(q.options));
      else state.foreign = true;
    }
    const ifbTbf = ingress.own?.ifbRoot;
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
