// Tc: one handle per network namespace for qdiscs, classes, filters and actions. It sends on an
// Rtnl's rtnetlink connection (its own, or one passed in: Tc.open({ rtnl }) opens no second
// socket), so requests issued together (Promise.all over a thousand links) share few system
// calls, and each failure is a NetlinkError naming the operation and the link.
import {
  type LinkRef,
  type NetlinkConnection,
  type NetnsRef,
  type RequestContext,
  Rtnl,
} from "@vmnet/netlink-native";
import type { Message } from "@vmnet/netlink-native/codec";
import { type ActionSpec, actionSchema, type ResolvedAction, resolveAction } from "../actions/action.js";
import type { CodecContext } from "../kinds/kind.js";
import type { TcRequest } from "../messages.js";
import { type Psched, systemPsched } from "../psched.js";
import { check, isLinkName, linkRef } from "../validate.js";
import { Actions } from "./actions.js";
import { Classes } from "./classes.js";
import type { TcCore } from "./core.js";
import { Filters } from "./filters.js";
import { LinkNames } from "./names.js";
import { Qdiscs } from "./qdiscs.js";

export interface TcOptions {
  /** The namespace to act in (name under /run/netns, path, or pid). Default: the caller's. */
  netns?: NetnsRef;
  /** Per-request deadline in ms (default 60 000). */
  timeoutMs?: number;
  /** Scheduler clock for tick conversions (default: this machine's /proc/net/psched). */
  psched?: Psched;
  /**
   * An open Rtnl to share: the Tc sends on its connection (and acts in its netns) instead of
   * opening a socket; closing the Tc leaves it open.
   */
  rtnl?: Rtnl;
}

export class Tc implements TcCore {
  readonly qdiscs: Qdiscs;
  readonly classes: Classes;
  readonly filters: Filters;
  readonly actions: Actions;
  readonly codec: CodecContext;
  readonly connection: NetlinkConnection;
  private readonly names: LinkNames;

  protected constructor(
    private readonly rtnlHandle: Rtnl,
    private readonly ownsRtnl: boolean,
    readonly options: TcOptions,
  ) {
    this.connection = rtnlHandle.connection;
    // A socket of our own: its batches of requests are sent quietly (see NetlinkConnection's
    // quietSends: the loop thread is not woken per answer while the kernel grafts qdiscs). A
    // connection passed in keeps its owner's setting.
    if (ownsRtnl) this.connection.quietSends = true;
    this.codec = { psched: options.psched ?? systemPsched() };
    this.names = new LinkNames(rtnlHandle);
    this.qdiscs = new Qdiscs(this);
    this.classes = new Classes(this);
    this.filters = new Filters(this);
    this.actions = new Actions(this);
  }

  /** Opens a handle in a namespace. Fails with ENOENT for a netns that does not exist. */
  static async open(options: TcOptions = {}): Promise<Tc> {
    if (options.rtnl) return new this(options.rtnl, false, options);
    const o: { netns?: NetnsRef; timeoutMs?: number } = {};
    if (options.netns !== undefined) o.netns = options.netns;
    if (options.timeoutMs !== undefined) o.timeoutMs = options.timeoutMs;
    return new this(await Rtnl.open(o), true, options);
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
   * once are resolved by one link dump (Rtnl's links.resolve).
   */
  ifindex(link: LinkRef): Promise<number> {
    if (typeof link === "number" && Number.isInteger(link) && link > 0) return Promise.resolve(link);
    if (isLinkName(link)) return this.names.resolve(link);
    try {
      check(linkRef, link, "link");
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof link === "number") return Promise.resolve(link);
    return this.names.resolve(link);
  }

  /** The rtnetlink handle this Tc sends on (same socket, same namespace). */
  async rtnl(): Promise<Rtnl> {
    return this.rtnlHandle;
  }

  /** Resolves the target links of actions to ifindexes. */
  async resolveActions(actions: readonly ActionSpec[] | undefined): Promise<ResolvedAction[]> {
    if (!actions) return [];
    return Promise.all(
      actions.map(async (a, i) => {
        return resolveAction(check(actionSchema, a, `actions.${i}`), this);
      }),
    );
  }

  /**
   * Closes the socket, unless it belongs to an Rtnl passed in; the promise settles once its fd is
   * closed (no need to wait).
   */
  close(): Promise<void> {
    return this.ownsRtnl ? this.rtnlHandle.close() : Promise.resolve();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
