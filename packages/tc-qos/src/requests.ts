// Pure builders: a validated, resolved operation -> { type, flags, body }. The Tc handle sends
// them; tests compare them byte for byte with iproute2's tc. Flags follow tc: add = CREATE|EXCL,
// replace = CREATE|REPLACE for qdiscs and actions but CREATE alone for classes and filters,
// change and delete = none (NetlinkConnection adds REQUEST|ACK).
import {
  AttrWriter,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELACTION,
  RTM_DELQDISC,
  RTM_DELTCLASS,
  RTM_DELTFILTER,
  RTM_GETACTION,
  RTM_GETQDISC,
  RTM_GETTCLASS,
  RTM_GETTFILTER,
  RTM_NEWACTION,
  RTM_NEWQDISC,
  RTM_NEWTCLASS,
  RTM_NEWTFILTER,
} from "@vmnet/netlink-native/codec";
import { z } from "zod";
import type { ResolvedAction } from "./actions/action.js";
import { writeActionList } from "./actions/action.js";
import * as C from "./constants.js";
import { TcInputError } from "./errors.js";
import type { FilterKind } from "./filters/kind.js";
import {
  FILTER_KIND_NAMES,
  type FILTER_KIND_REGISTRY,
  type FilterKindName,
  filterKind,
} from "./filters/registry.js";
import { type Handle, parseFilterParent, parseHandle, parseQdiscHandle } from "./handle.js";
import { QDISC_KIND_NAMES, qdiscKind } from "./kinds/index.js";
import type { CodecContext, QdiscKind } from "./kinds/kind.js";
import { htons, TCMSG_LEN, type TcRequest, tcRequest, writeTcMsgAt } from "./messages.js";
import { systemPsched } from "./psched.js";
import { check, u16, u32 } from "./validate.js";

export type TcOp = "add" | "replace" | "change";

const ADD = NLM_F_CREATE | NLM_F_EXCL;
const REPLACE = NLM_F_CREATE | NLM_F_REPLACE;
const NEW_FLAGS = {
  qdisc: { add: ADD, replace: REPLACE, change: 0 },
  class: { add: ADD, replace: NLM_F_CREATE, change: 0 },
  filter: { add: ADD, replace: NLM_F_CREATE, change: 0 },
  // tc's "actions change" sends what "replace" does.
  action: { add: ADD, replace: REPLACE, change: REPLACE },
} as const;

// ---- qdiscs ----

/** Where a qdisc goes and what it is: `{ kind: "tbf", parent: "root", handle: "1:", rate: ... }`. */
export interface QdiscPlace {
  /** "root" (default), "ingress", or a class id such as "1:1". */
  parent?: Handle;
  /** Its own handle, such as "1:" (the kernel picks one when absent). */
  handle?: Handle;
}

export function qdiscKindOrThrow(kind: unknown, field: string): QdiscKind {
  const k = typeof kind === "string" ? qdiscKind(kind) : undefined;
  if (!k) {
    throw new TcInputError(
      `${field}.kind`,
      `${JSON.stringify(kind)} is not a qdisc kind this package writes (${QDISC_KIND_NAMES})`,
    );
  }
  return k;
}

function splitPlace(spec: Record<string, unknown>): { place: QdiscPlace; options: Record<string, unknown> } {
  const { kind: _k, parent, handle, ...options } = spec;
  const place: QdiscPlace = {};
  if (parent !== undefined) place.parent = parent as Handle;
  if (handle !== undefined) place.handle = handle as Handle;
  return { place, options };
}

/** The tcmsg handle/parent of a qdisc spec. */
export function qdiscAddress(
  k: QdiscKind,
  place: QdiscPlace,
  field: string,
): { handle: number; parent: number } {
  if (k.fixedPlace) {
    if (place.parent !== undefined && parseHandle(place.parent, `${field}.parent`) !== k.fixedPlace.parent)
      throw new TcInputError(`${field}.parent`, `the ${k.kind} qdisc always sits at "ingress"`);
    if (
      place.handle !== undefined &&
      parseQdiscHandle(place.handle, `${field}.handle`) !== k.fixedPlace.handle
    )
      throw new TcInputError(`${field}.handle`, `the ${k.kind} qdisc always has handle "ffff:"`);
    return k.fixedPlace;
  }
  return {
    handle: place.handle === undefined ? 0 : parseQdiscHandle(place.handle, `${field}.handle`),
    parent: parseHandle(place.parent ?? "root", `${field}.parent`),
  };
}

/** Validates a qdisc spec: its kind, its place and its options. */
export function parseQdiscSpec(spec: unknown, field = "qdisc") {
  if (typeof spec !== "object" || spec === null)
    throw new TcInputError(field, "expected an object with a kind");
  const k = qdiscKindOrThrow((spec as { kind?: unknown }).kind, field);
  const { place, options } = splitPlace(spec as Record<string, unknown>);
  const address = qdiscAddress(k, place, field);
  const parsed = check(k.schema, options, field);
  return { kind: k, address, options: parsed };
}

/**
 * What follows the tcmsg header (TCA_KIND and TCA_OPTIONS) by parsed options object and codec
 * context. Parsed options are never mutated (validate.ts hands the same object to every identical
 * spec), so a thousand links given one rate share one encoding, rate table included.
 */
const encodedOptions = new WeakMap<CodecContext, WeakMap<object, Buffer>>();

function optionsTail(spec: ReturnType<typeof parseQdiscSpec>, ctx: CodecContext): Buffer {
  const options = spec.options;
  const cacheable = typeof options === "object" && options !== null;
  let byOptions = encodedOptions.get(ctx);
  const hit = cacheable ? byOptions?.get(options) : undefined;
  if (hit) return hit;
  const full = tcRequest(RTM_NEWQDISC, 0, { ifindex: 0 }, spec.kind.kind, (w) =>
    spec.kind.encode(w, options, ctx),
  ).body;
  const tail = Buffer.from(full.subarray(TCMSG_LEN)); // a copy: not a view into a larger pool slab
  if (cacheable) {
    if (!byOptions) {
      byOptions = new WeakMap();
      encodedOptions.set(ctx, byOptions);
    }
    byOptions.set(options, tail);
  }
  return tail;
}

export function qdiscRequest(
  op: TcOp,
  ifindex: number,
  spec: ReturnType<typeof parseQdiscSpec>,
  ctx: CodecContext,
): TcRequest {
  const tail = optionsTail(spec, ctx);
  const body = Buffer.allocUnsafe(TCMSG_LEN + tail.length);
  writeTcMsgAt(body, { ifindex, handle: spec.address.handle, parent: spec.address.parent });
  tail.copy(body, TCMSG_LEN);
  return { type: RTM_NEWQDISC, flags: NEW_FLAGS.qdisc[op], body };
}

/**
 * Puts back a qdisc exactly as the kernel reported it (its kind, place and raw TCA_OPTIONS):
 * how a failed multi-step change restores what was there. Kernels accept their own dumps as
 * options for tbf, netem, htb (the qdisc itself), fifo and most others.
 */
export function qdiscRawRequest(
  op: TcOp,
  ifindex: number,
  q: { kind: string; handle: number; parent: number; options?: Buffer },
): TcRequest {
  return tcRequest(
    RTM_NEWQDISC,
    NEW_FLAGS.qdisc[op],
    { ifindex, handle: q.handle, parent: q.parent },
    q.kind,
    (w) => {
      if (q.options) w.attr(C.TCA_OPTIONS, q.options);
    },
  );
}

/** Which qdisc to delete: by place (default the root), or by kind for ingress/clsact. */
export interface QdiscSelector {
  parent?: Handle;
  handle?: Handle;
  kind?: string;
}

export function qdiscDeleteRequest(ifindex: number, sel: QdiscSelector = {}, field = "qdisc"): TcRequest {
  const k = sel.kind !== undefined ? qdiscKind(sel.kind) : undefined;
  if (k?.fixedPlace) {
    return tcRequest(RTM_DELQDISC, 0, { ifindex, ...k.fixedPlace }, k.kind);
  }
  return tcRequest(
    RTM_DELQDISC,
    0,
    {
      ifindex,
      handle: sel.handle === undefined ? 0 : parseQdiscHandle(sel.handle, `${field}.handle`),
      parent: parseHandle(sel.parent ?? "root", `${field}.parent`),
    },
    sel.kind,
  );
}

/**
 * A single qdisc by place (RTM_GETQDISC without NLM_F_DUMP). The kernel sends the answer only
 * with NLM_F_ECHO (it "notifies" the requester), so the flag is set, as tc does for its gets.
 */
export function qdiscGetRequest(ifindex: number, parent: number, handle = 0): TcRequest {
  return tcRequest(RTM_GETQDISC, NLM_F_ECHO, { ifindex, parent, handle }, undefined);
}

export function qdiscDumpRequest(ifindex = 0): TcRequest {
  return tcRequest(RTM_GETQDISC, NLM_F_DUMP, { ifindex }, undefined);
}

// ---- classes ----

export function parseClassSpec(spec: unknown, field = "class") {
  if (typeof spec !== "object" || spec === null)
    throw new TcInputError(field, "expected an object with a kind");
  const { kind, parent, classid, ...options } = spec as Record<string, unknown>;
  const k = qdiscKindOrThrow(kind, field);
  if (!k.classes)
    throw new TcInputError(`${field}.kind`, `"${k.kind}" has no classes this package writes (htb has)`);
  if (classid === undefined) throw new TcInputError(`${field}.classid`, 'is required (like "1:10")');
  const id = parseHandle(classid as Handle, `${field}.classid`);
  if ((id & 0xffff) === 0 || id === C.TC_H_ROOT)
    throw new TcInputError(
      `${field}.classid`,
      `"${classid}" is not a class id (it needs a minor number, like "1:10")`,
    );
  const par =
    parent === undefined ? (id & 0xffff0000) >>> 0 : parseHandle(parent as Handle, `${field}.parent`);
  return { kind: k, classid: id, parent: par, options: check(k.classes.schema, options, field) };
}

export function classRequest(
  op: TcOp,
  ifindex: number,
  spec: ReturnType<typeof parseClassSpec>,
  ctx: CodecContext,
): TcRequest {
  const codec = spec.kind.classes as NonNullable<QdiscKind["classes"]>;
  return tcRequest(
    RTM_NEWTCLASS,
    NEW_FLAGS.class[op],
    { ifindex, handle: spec.classid, parent: spec.parent },
    spec.kind.kind,
    (w) => codec.encode(w, spec.options, ctx),
  );
}

export function classDeleteRequest(ifindex: number, sel: { classid: Handle; parent?: Handle }): TcRequest {
  return tcRequest(
    RTM_DELTCLASS,
    0,
    {
      ifindex,
      handle: parseHandle(sel.classid, "class.classid"),
      parent: sel.parent === undefined ? 0 : parseHandle(sel.parent, "class.parent"),
    },
    undefined,
  );
}

export function classDumpRequest(ifindex: number): TcRequest {
  return tcRequest(RTM_GETTCLASS, NLM_F_DUMP, { ifindex }, undefined);
}

// ---- filters ----

/** Ethernet protocols by tc's names; numbers are ethertypes in host order. */
export const PROTOCOLS: Record<string, number> = {
  all: C.ETH_P_ALL,
  ip: C.ETH_P_IP,
  ipv6: C.ETH_P_IPV6,
  arp: C.ETH_P_ARP,
  "802.1q": C.ETH_P_8021Q,
  "802.1ad": C.ETH_P_8021AD,
};

export type Protocol = "all" | "ip" | "ipv6" | "arp" | "802.1q" | "802.1ad" | number;

export function parseProtocol(p: Protocol, field = "filter.protocol"): number {
  if (typeof p === "number") return check(u16, p, field);
  const v = PROTOCOLS[p];
  if (v === undefined)
    throw new TcInputError(
      field,
      `unknown protocol "${p}" (use ${Object.keys(PROTOCOLS).join(", ")} or an ethertype)`,
    );
  return v;
}

export function protocolName(v: number): Protocol {
  for (const [name, num] of Object.entries(PROTOCOLS)) if (num === v) return name as Protocol;
  return v;
}

const filterCommon = z.object({
  parent: z.union([z.string(), z.number()], {
    error: 'expected a parent such as "ffff:", "1:", "ingress" or "egress"',
  }),
  protocol: z.union([z.string(), z.number()]).optional(),
  prio: u16.optional(),
  handle: z.union([z.string(), z.number()]).optional(),
  chain: u32.optional(),
});

type RegisteredFilter = (typeof FILTER_KIND_REGISTRY)[number];
/** A filter kind's options after validation (the union over the registry). */
export type FilterOptionsParsed = RegisteredFilter extends infer K
  ? K extends FilterKind<string, infer S, unknown>
    ? z.output<S>
    : never
  : never;

function filterKindOrThrow(kind: unknown, field: string): FilterKind {
  const k = typeof kind === "string" ? filterKind(kind) : undefined;
  if (!k)
    throw new TcInputError(
      `${field}.kind`,
      `${JSON.stringify(kind)} is not a filter kind this package writes (${FILTER_KIND_NAMES})`,
    );
  return k;
}

/** A filter handle as `kind` writes it (u32's own format, else "major:minor"). */
function parseFilterHandle(kind: FilterKind, handle: Handle, field: string): number {
  return kind.handle ? kind.handle.parse(handle, field) : parseHandle(handle, field);
}

export function parseFilterSpec(spec: unknown, field = "filter") {
  if (typeof spec !== "object" || spec === null)
    throw new TcInputError(field, "expected an object with a kind");
  const { parent, protocol, prio, handle, chain, ...rest } = spec as Record<string, unknown>;
  const kind = filterKindOrThrow(rest.kind, field);
  const common = check(filterCommon, { parent, protocol, prio, handle, chain }, field);
  const options = check(kind.schema, rest, field) as FilterOptionsParsed;
  return {
    parent: parseFilterParent(common.parent, `${field}.parent`),
    protocol:
      common.protocol === undefined
        ? undefined
        : parseProtocol(common.protocol as Protocol, `${field}.protocol`),
    prio: common.prio ?? 0,
    handle:
      common.handle === undefined ? 0 : parseFilterHandle(kind, common.handle as Handle, `${field}.handle`),
    chain: common.chain,
    options,
  };
}

export function filterRequest(
  op: TcOp,
  ifindex: number,
  spec: ReturnType<typeof parseFilterSpec>,
  actions: readonly ResolvedAction[],
  ctx: CodecContext = { psched: systemPsched() },
): TcRequest {
  const kind = filterKindOrThrow(spec.options.kind, "filter");
  // tc defaults the protocol to "all" when creating (add, replace), and leaves it open otherwise.
  const protocol = spec.protocol ?? (op === "change" ? 0 : C.ETH_P_ALL);
  return tcRequest(
    RTM_NEWTFILTER,
    NEW_FLAGS.filter[op],
    { ifindex, handle: spec.handle, parent: spec.parent, info: ((spec.prio << 16) | htons(protocol)) >>> 0 },
    undefined,
    (w) => {
      if (spec.chain !== undefined) w.u32(C.TCA_CHAIN, spec.chain);
      w.string(C.TCA_KIND, spec.options.kind);
      kind.encode(w, spec.options, actions, ctx);
    },
  );
}

/** Which filters to delete: all under a parent, one priority, or one filter (kind + handle). */
export interface FilterSelector {
  parent: Handle;
  prio?: number;
  protocol?: Protocol;
  handle?: Handle;
  kind?: FilterKindName;
}

export function filterDeleteRequest(ifindex: number, sel: FilterSelector, field = "filter"): TcRequest {
  if (sel.handle !== undefined && sel.kind === undefined)
    throw new TcInputError(
      `${field}.kind`,
      'is required with "handle" (the handle format depends on the kind)',
    );
  const prio = sel.prio === undefined ? 0 : check(u16, sel.prio, `${field}.prio`);
  const protocol = sel.protocol === undefined ? 0 : parseProtocol(sel.protocol, `${field}.protocol`);
  return tcRequest(
    RTM_DELTFILTER,
    0,
    {
      ifindex,
      parent: parseFilterParent(sel.parent, `${field}.parent`),
      handle:
        sel.handle === undefined
          ? 0
          : parseFilterHandle(filterKindOrThrow(sel.kind, field), sel.handle, `${field}.handle`),
      info: ((prio << 16) | htons(protocol)) >>> 0,
    },
    sel.kind,
  );
}

export function filterDumpRequest(ifindex: number, parent: number): TcRequest {
  return tcRequest(RTM_GETTFILTER, NLM_F_DUMP, { ifindex, parent }, undefined);
}

// ---- standalone actions ----

const TCAMSG_LEN = 4;

function actionBody(fill: (w: AttrWriter) => void): Buffer {
  const w = new AttrWriter(256);
  w.bytes(Buffer.alloc(TCAMSG_LEN));
  fill(w);
  return w.finish();
}

export function actionRequest(op: TcOp, actions: readonly ResolvedAction[]): TcRequest {
  return {
    type: RTM_NEWACTION,
    flags: NEW_FLAGS.action[op],
    body: actionBody((w) => {
      w.begin(C.TCA_ACT_TAB);
      writeActionList(w, actions);
      w.end();
    }),
  };
}

export function actionDeleteRequest(kind: string, index: number): TcRequest {
  return {
    type: RTM_DELACTION,
    flags: 0,
    body: actionBody((w) => {
      w.begin(C.TCA_ACT_TAB);
      w.begin(1);
      w.string(C.TCA_ACT_KIND, kind);
      w.u32(C.TCA_ACT_INDEX, index);
      w.end();
      w.end();
    }),
  };
}

export function actionDumpRequest(kind: string): TcRequest {
  return {
    type: RTM_GETACTION,
    flags: NLM_F_DUMP,
    body: actionBody((w) => {
      w.begin(C.TCA_ACT_TAB);
      w.begin(1);
      w.string(C.TCA_ACT_KIND, kind);
      w.end();
      w.end();
      // struct nla_bitfield32 { value, selector }: ask for large dumps, as tc does.
      const flags = Buffer.alloc(8);
      flags.writeUInt32LE(C.TCA_ACT_FLAG_LARGE_DUMP_ON, 0);
      flags.writeUInt32LE(C.TCA_ACT_FLAG_LARGE_DUMP_ON, 4);
      w.attr(C.TCA_ROOT_FLAGS, flags);
    }),
  };
}
