// The pure decoders of tc objects: RTM_NEWQDISC / RTM_NEWTCLASS / RTM_NEWTFILTER bodies into
// typed objects (kind-specific options decoded by the kind plugins), and the spec types the
// handle takes. No I/O here.
import type { Message } from "@vmnet/netlink-native/codec";
import type { z } from "zod";
import type { MatchallFilter, MatchallInfo } from "./filters/matchall.js";
import { filterKind } from "./filters/registry.js";
import type { U32Filter, U32Info } from "./filters/u32.js";
import { formatFilterParent, formatHandle, formatQdiscHandle, type Handle } from "./handle.js";
import type { HtbClassInfo, HtbClassOptions } from "./kinds/htb.js";
import { qdiscKind, type qdiscKinds } from "./kinds/index.js";
import type { CodecContext } from "./kinds/kind.js";
import { decodeTcHead, decodeTcObject, type TcMsg, type TcStats } from "./messages.js";
import { systemPsched } from "./psched.js";
import { type Protocol, protocolName, type QdiscPlace } from "./requests.js";

type Kinds = typeof qdiscKinds;
/** A kind's options as users write them (a kind without options takes none: `{}` stays `{}`). */
type OptionsOf<S extends z.ZodType> = string extends keyof z.input<S> ? object : z.input<S>;

/** A qdisc to add: its kind, place (parent, handle) and the kind's options (from the registry). */
export type QdiscSpec = {
  [K in keyof Kinds]: { kind: K } & QdiscPlace & OptionsOf<Kinds[K]["schema"]>;
}[keyof Kinds];

/** What the kernel reports for a kind this package decodes (from the registry). */
type DecodedQdisc = {
  [K in keyof Kinds]: { kind: K; options?: Exclude<ReturnType<Kinds[K]["decode"]>, undefined> };
}[keyof Kinds];

/** A class to add: `{ kind: "htb", parent: "1:", classid: "1:10", rate: "5mbit" }`. */
export type ClassSpec = { kind: "htb"; parent?: Handle; classid: Handle } & HtbClassOptions;

/** A filter to add: `{ kind: "u32", parent: "ffff:", matchAll: true, actions: [...] }`. */
export type FilterSpec = {
  /** "ffff:" (ingress qdisc), "1:" (a classful qdisc), or clsact's "ingress"/"egress". */
  parent: Handle;
  /** Default "all" when adding or replacing. */
  protocol?: Protocol;
  /** Priority (pref); the kernel assigns one when absent. */
  prio?: number;
  /** u32 handle, "800::800" or "::800" (node in the filter's own table). */
  handle?: Handle;
  chain?: number;
} & (U32Filter | MatchallFilter);

interface TcObjectBase {
  ifindex: number;
  stats?: TcStats;
}

/** A qdisc as the kernel reports it. `options` is decoded for the kinds this package knows. */
export type Qdisc = TcObjectBase & {
  /** "1:", "ffff:", or "0:" (a qdisc the kernel attached by default). */
  handle: string;
  /** "root", "ingress", or the class it hangs under ("1:1"). */
  parent: string;
  refcnt: number;
  /** TCA_OPTIONS as sent by the kernel (also for kinds decoded below). */
  rawOptions?: Buffer;
} & (DecodedQdisc | { kind: string; options?: undefined });

export type TcClass = TcObjectBase & {
  classid: string;
  parent: string;
  /** Handle of the qdisc attached under this class, when there is one. */
  leaf?: string;
  rawOptions?: Buffer;
} & ({ kind: "htb"; options?: HtbClassInfo } | { kind: string; options?: undefined });

export type Filter = TcObjectBase & {
  parent: string;
  prio: number;
  protocol: Protocol;
  /** Raw 32-bit filter handle (for u32: hash table, bucket and node). */
  handle: number;
  /** The handle as tc prints it ("800::800"). */
  id: string;
  chain?: number;
  rawOptions?: Buffer;
} & (
    | { kind: "u32"; options: U32Info }
    | { kind: "matchall"; options: MatchallInfo }
    | { kind: string; options?: undefined }
  );

/**
 * A qdisc from RTM_NEWQDISC. `full` false leaves out counters and decoded options (rawOptions
 * stay): what planning a change needs, at a fraction of the cost.
 */
export function decodeQdisc(m: Message, ctx: CodecContext, full = true): Qdisc {
  const o: { header: TcMsg; kind: string; options?: Buffer; stats?: TcStats } = full
    ? decodeTcObject(m.body)
    : decodeTcHead(m.body);
  const q = {
    kind: o.kind,
    ifindex: o.header.ifindex,
    handle: formatQdiscHandle(o.header.handle),
    parent: formatHandle(o.header.parent),
    refcnt: o.header.info,
  } as Qdisc;
  if (o.options) q.rawOptions = o.options;
  if (o.stats) q.stats = o.stats;
  const k = full ? qdiscKind(o.kind) : undefined;
  if (k && o.options) {
    const info = k.decode(o.options, ctx);
    if (info !== undefined) (q as { options?: unknown }).options = info;
  }
  return q;
}

export function decodeClass(m: Message, ctx: CodecContext): TcClass {
  const o = decodeTcObject(m.body);
  const c = {
    kind: o.kind,
    ifindex: o.header.ifindex,
    classid: formatHandle(o.header.handle),
    parent: formatHandle(o.header.parent),
  } as TcClass;
  if (o.header.info) c.leaf = formatHandle(o.header.info);
  if (o.options) c.rawOptions = o.options;
  if (o.stats) c.stats = o.stats;
  const codec = qdiscKind(o.kind)?.classes;
  if (codec && o.options) {
    const info = codec.decode(o.options, ctx);
    if (info !== undefined) (c as { options?: unknown }).options = info;
  }
  return c;
}

export function decodeFilter(m: Message, ctx?: CodecContext): Filter {
  const o = decodeTcObject(m.body);
  const kind = filterKind(o.kind);
  const proto = o.header.info & 0xffff;
  const f = {
    kind: o.kind,
    ifindex: o.header.ifindex,
    parent: formatFilterParent(o.header.parent),
    prio: o.header.info >>> 16,
    protocol: protocolName(((proto & 0xff) << 8) | (proto >>> 8)),
    handle: o.header.handle,
    id: kind?.handle ? kind.handle.format(o.header.handle) : `0x${o.header.handle.toString(16)}`,
  } as Filter;
  if (o.chain !== undefined) f.chain = o.chain;
  if (o.options) f.rawOptions = o.options;
  if (o.stats) f.stats = o.stats;
  if (kind) (f as { options?: unknown }).options = kind.decode(o.options, ctx ?? { psched: systemPsched() });
  return f;
}
