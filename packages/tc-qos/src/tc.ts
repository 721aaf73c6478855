// Tc: one handle per network namespace for qdiscs, classes, filters and actions, over one netlink
// socket that lives in that namespace. Every request goes through send(), so requests issued
// together (Promise.all over a thousand links) share few system calls, and each failure is a
// NetlinkError naming the operation and the link.
import {
  type LinkRef,
  NetlinkConnection,
  NetlinkError,
  type NetnsRef,
  type RequestContext,
  Rtnl,
} from "@vmnet/netlink-native";
import {
  type Message,
  parseAttrs,
  RTM_GETACTION,
  RTM_NEWACTION,
  RTM_NEWQDISC,
  RTM_NEWTCLASS,
  RTM_NEWTFILTER,
} from "@vmnet/netlink-native/codec";
import { z } from "zod";
import {
  type ActionInfo,
  type ActionSpec,
  actionSchema,
  type ResolvedAction,
  readActionList,
} from "./actions/action.js";
import * as C from "./constants.js";
import { decodeU32, formatU32Handle, type U32Filter, type U32Info } from "./filters/u32.js";
import {
  formatFilterParent,
  formatHandle,
  formatQdiscHandle,
  type Handle,
  parseFilterParent,
  parseHandle,
} from "./handle.js";
import type { BfifoOptions, FifoInfo, PfifoOptions } from "./kinds/fifo.js";
import type { HtbClassInfo, HtbClassOptions, HtbInfo, HtbOptions } from "./kinds/htb.js";
import { qdiscKind } from "./kinds/index.js";
import type { CodecContext } from "./kinds/kind.js";
import type { NetemInfo, NetemOptions } from "./kinds/netem.js";
import type { TbfInfo, TbfOptions } from "./kinds/tbf.js";
import { decodeTcObject, type TcRequest, type TcStats } from "./messages.js";
import { NameResolver } from "./names.js";
import { type Psched, systemPsched } from "./psched.js";
import {
  actionDeleteRequest,
  actionDumpRequest,
  actionRequest,
  classDeleteRequest,
  classDumpRequest,
  classRequest,
  type FilterSelector,
  filterDeleteRequest,
  filterDumpRequest,
  filterRequest,
  type Protocol,
  parseClassSpec,
  parseFilterSpec,
  parseQdiscSpec,
  protocolName,
  type QdiscPlace,
  type QdiscSelector,
  qdiscDeleteRequest,
  qdiscDumpRequest,
  qdiscGetRequest,
  qdiscRequest,
  type TcOp,
} from "./requests.js";
import { check, linkRef } from "./validate.js";

export interface TcOptions {
  /** The namespace to act in (name under /run/netns, path, or pid). Default: the caller's. */
  netns?: NetnsRef;
  /** Per-request deadline in ms (default 60 000). */
  timeoutMs?: number;
  /** Scheduler clock for tick conversions (default: this machine's /proc/net/psched). */
  psched?: Psched;
}

/** A qdisc to add: its kind, place (parent, handle) and the kind's options. */
export type QdiscSpec =
  | ({ kind: "netem" } & QdiscPlace & NetemOptions)
  | ({ kind: "tbf" } & QdiscPlace & TbfOptions)
  | ({ kind: "htb" } & QdiscPlace & HtbOptions)
  | ({ kind: "pfifo" } & QdiscPlace & PfifoOptions)
  | ({ kind: "bfifo" } & QdiscPlace & BfifoOptions)
  | { kind: "ingress" | "clsact"; parent?: Handle; handle?: Handle };

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
} & U32Filter;

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
} & (
    | { kind: "netem"; options?: NetemInfo }
    | { kind: "tbf"; options?: TbfInfo }
    | { kind: "htb"; options?: HtbInfo }
    | { kind: "pfifo" | "bfifo"; options?: FifoInfo }
    | { kind: string; options?: undefined }
  );

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
} & ({ kind: "u32"; options: U32Info } | { kind: string; options?: undefined });

/**
 * A qdisc from RTM_NEWQDISC. `full` false leaves out counters and decoded options (rawOptions
 * stay): what planning a change needs, at a fraction of the cost.
 */
export function decodeQdisc(m: Message, ctx: CodecContext, full = true): Qdisc {
  const o = decodeTcObject(m.body, full);
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

export function decodeFilter(m: Message): Filter {
  const o = decodeTcObject(m.body);
  const proto = o.header.info & 0xffff;
  const f = {
    kind: o.kind,
    ifindex: o.header.ifindex,
    parent: formatFilterParent(o.header.parent),
    prio: o.header.info >>> 16,
    protocol: protocolName(((proto & 0xff) << 8) | (proto >>> 8)),
    handle: o.header.handle,
    id: o.kind === "u32" ? formatU32Handle(o.header.handle) : `0x${o.header.handle.toString(16)}`,
  } as Filter;
  if (o.chain !== undefined) f.chain = o.chain;
  if (o.options) f.rawOptions = o.options;
  if (o.stats) f.stats = o.stats;
  if (o.kind === "u32") (f as { options?: U32Info }).options = decodeU32(o.options);
  return f;
}

export class Tc {
  readonly qdiscs: Qdiscs;
  readonly classes: Classes;
  readonly filters: Filters;
  readonly actions: Actions;
  readonly codec: CodecContext;
  private readonly names: NameResolver;
  private rtnlHandle?: Promise<Rtnl>;

  protected constructor(
    readonly connection: NetlinkConnection,
    readonly options: TcOptions,
  ) {
    this.codec = { psched: options.psched ?? systemPsched() };
    this.names = new NameResolver(connection);
    this.qdiscs = new Qdiscs(this);
    this.classes = new Classes(this);
    this.filters = new Filters(this);
    this.actions = new Actions(this);
  }

  /** Opens a handle in a namespace. Fails with ENOENT for a netns that does not exist. */
  static async open(options: TcOptions = {}): Promise<Tc> {
    const connOptions: { netns?: NetnsRef; timeoutMs?: number } = {};
    if (options.netns !== undefined) connOptions.netns = options.netns;
    if (options.timeoutMs !== undefined) connOptions.timeoutMs = options.timeoutMs;
    const conn = new NetlinkConnection(connOptions);
    conn.netlinkSocket.enableStrictCheck();
    return new this(conn, options);
  }

  /** Sends one request and resolves with the messages the kernel sent before its ACK. */
  send(req: TcRequest, context: RequestContext): Promise<Message[]> {
    return this.connection.request(req.type, req.flags, req.body, context);
  }

  /** Runs a dump (retried when the kernel flags it interrupted). */
  dump(req: TcRequest, context: RequestContext): Promise<Message[]> {
    return this.connection.dumpAll(req.type, req.body, context);
  }

  /**
   * Resolves a link name to its ifindex (an index is returned as is). Many names asked for at
   * once are resolved by one link dump (see names.ts).
   */
  async ifindex(link: LinkRef): Promise<number> {
    if (typeof link === "number" && Number.isInteger(link) && link > 0) return link;
    check(linkRef, link, "link");
    if (typeof link === "number") return link;
    return this.names.resolve(link);
  }

  /** An rtnetlink handle in the same namespace (opened on first use, closed with this one). */
  rtnl(): Promise<Rtnl> {
    if (!this.rtnlHandle) {
      const o: { netns?: NetnsRef; timeoutMs?: number } = {};
      if (this.options.netns !== undefined) o.netns = this.options.netns;
      if (this.options.timeoutMs !== undefined) o.timeoutMs = this.options.timeoutMs;
      this.rtnlHandle = Rtnl.open(o);
    }
    return this.rtnlHandle;
  }

  /** Resolves the target links of actions to ifindexes. */
  async resolveActions(actions: readonly ActionSpec[] | undefined): Promise<ResolvedAction[]> {
    if (!actions) return [];
    return Promise.all(
      actions.map(async (a, i) => {
        const parsed = check(actionSchema, a, `actions.${i}`);
        return { ...parsed, ifindex: await this.ifindex(parsed.dev) };
      }),
    );
  }

  close(): void {
    this.connection.close();
    this.rtnlHandle?.then(
      (r) => r.close(),
      () => undefined,
    );
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const ctxOf = (op: string, link: LinkRef): RequestContext => ({ op, object: String(link) });

class Qdiscs {
  constructor(private readonly tc: Tc) {}

  private async modify(op: TcOp, link: LinkRef, spec: QdiscSpec): Promise<void> {
    const parsed = parseQdiscSpec(spec);
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(
      qdiscRequest(op, ifindex, parsed, this.tc.codec),
      ctxOf(`qdisc ${op} ${parsed.kind.kind}`, link),
    );
  }

  /** Adds a qdisc; fails with EEXIST if its place is taken (`tc qdisc add`). */
  add(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  /** Adds or replaces the qdisc at that place (`tc qdisc replace`). */
  replace(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  /** Changes an existing qdisc's options in place (`tc qdisc change`). */
  change(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  /** Deletes a qdisc: the root by default, `{ kind: "ingress" }`, or `{ parent, handle }`. */
  async delete(link: LinkRef, selector: QdiscSelector = {}): Promise<void> {
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(qdiscDeleteRequest(ifindex, selector), ctxOf("qdisc del", link));
  }

  /** The qdisc at a place ("root", "ingress", "1:1"), or undefined when there is none. */
  async get(link: LinkRef, parent: Handle = "root"): Promise<Qdisc | undefined> {
    const ifindex = await this.tc.ifindex(link);
    const p = parent === "ingress" ? C.TC_H_INGRESS : parseHandle(parent, "parent");
    try {
      const msgs = await this.tc.send(qdiscGetRequest(ifindex, p), ctxOf("qdisc get", link));
      const m = msgs.find((x) => x.type === RTM_NEWQDISC);
      return m ? decodeQdisc(m, this.tc.codec) : undefined;
    } catch (e) {
      // No qdisc at that place: ENOENT (nothing there) or EINVAL (no such parent class).
      if (e instanceof NetlinkError && (e.code === "ENOENT" || e.code === "EINVAL")) return undefined;
      throw e;
    }
  }

  /** Every qdisc of a link (or of the namespace), root first. */
  async list(link?: LinkRef): Promise<Qdisc[]> {
    const ifindex = link === undefined ? 0 : await this.tc.ifindex(link);
    const msgs = await this.tc.dump(qdiscDumpRequest(ifindex), {
      op: "qdisc list",
      ...(link !== undefined ? { object: String(link) } : {}),
    });
    return msgs
      .filter((m) => m.type === RTM_NEWQDISC)
      .map((m) => decodeQdisc(m, this.tc.codec))
      .filter((q) => ifindex === 0 || q.ifindex === ifindex);
  }
}

class Classes {
  constructor(private readonly tc: Tc) {}

  private async modify(op: TcOp, link: LinkRef, spec: ClassSpec): Promise<void> {
    const parsed = parseClassSpec(spec);
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(classRequest(op, ifindex, parsed, this.tc.codec), ctxOf(`class ${op}`, link));
  }

  add(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  replace(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  change(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  async delete(link: LinkRef, selector: { classid: Handle; parent?: Handle }): Promise<void> {
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(classDeleteRequest(ifindex, selector), ctxOf("class del", link));
  }

  /** Every class of a link (the kernel dumps classes per link). */
  async list(link: LinkRef): Promise<TcClass[]> {
    const ifindex = await this.tc.ifindex(link);
    const msgs = await this.tc.dump(classDumpRequest(ifindex), ctxOf("class list", link));
    return msgs.filter((m) => m.type === RTM_NEWTCLASS).map((m) => decodeClass(m, this.tc.codec));
  }
}

class Filters {
  constructor(private readonly tc: Tc) {}

  private async modify(op: TcOp, link: LinkRef, spec: FilterSpec): Promise<void> {
    const parsed = parseFilterSpec(spec);
    const [ifindex, actions] = await Promise.all([
      this.tc.ifindex(link),
      this.tc.resolveActions(spec.actions),
    ]);
    await this.tc.send(filterRequest(op, ifindex, parsed, actions), ctxOf(`filter ${op}`, link));
  }

  add(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  /** Adds, or replaces the filter with the same parent, prio, protocol and handle. */
  replace(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  change(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  /** Deletes every filter under a parent, one priority's, or one filter (with kind and handle). */
  async delete(link: LinkRef, selector: FilterSelector): Promise<void> {
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(filterDeleteRequest(ifindex, selector), ctxOf("filter del", link));
  }

  /** The filters attached under a parent ("ffff:", "1:", "ingress", "egress"). */
  async list(link: LinkRef, parent: Handle): Promise<Filter[]> {
    const ifindex = await this.tc.ifindex(link);
    const msgs = await this.tc.dump(
      filterDumpRequest(ifindex, parseFilterParent(parent)),
      ctxOf("filter list", link),
    );
    return msgs.filter((m) => m.type === RTM_NEWTFILTER).map((m) => decodeFilter(m));
  }
}

const actionList = z.array(actionSchema).min(1, "give at least one action");

class Actions {
  constructor(private readonly tc: Tc) {}

  private async modify(op: TcOp, input: ActionSpec | ActionSpec[]): Promise<void> {
    const list = check(actionList, Array.isArray(input) ? input : [input], "actions");
    const resolved = await this.tc.resolveActions(list as ActionSpec[]);
    await this.tc.send(actionRequest(op, resolved), {
      op: `action ${op}`,
      object: list.map((a) => a.kind).join(","),
    });
  }

  /** Adds standalone (shared) actions, which filters can then refer to by index. */
  add(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("add", actions);
  }

  replace(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("replace", actions);
  }

  change(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("change", actions);
  }

  async delete(kind: string, index: number): Promise<void> {
    await this.tc.send(actionDeleteRequest(kind, index), { op: "action del", object: `${kind} ${index}` });
  }

  /** Every standalone action of a kind. */
  async list(kind: string): Promise<ActionInfo[]> {
    const msgs = await this.tc.dump(actionDumpRequest(kind), { op: "action list", object: kind });
    const out: ActionInfo[] = [];
    for (const m of msgs) {
      // Dump answers carry the request's type (RTM_GETACTION); notifications RTM_NEWACTION.
      if (m.type !== RTM_GETACTION && m.type !== RTM_NEWACTION) continue;
      for (const a of parseAttrs(m.body.subarray(4)))
        if (a.type === C.TCA_ACT_TAB) out.push(...readActionList(a.data));
    }
    return out;
  }
}

export type { ActionInfo, ActionSpec, FifoInfo, HtbClassInfo, HtbInfo, NetemInfo, TbfInfo, U32Info };
