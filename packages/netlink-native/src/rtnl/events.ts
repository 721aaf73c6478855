// rtnetlink multicast events as an async iterator. A subscription has its own socket (joined to
// the groups asked for) in the handle's netns. When the kernel drops events (ENOBUFS: the
// listener fell behind), the iterator re-dumps and yields a `resync` with the full current state,
// so a consumer's view never silently drifts.
import * as C from "../codec/constants.js";
import type { Message } from "../codec/message.js";
import { NetlinkConnection } from "../connection.js";
import { NetlinkDumpInterruptedError } from "../errors.js";
import type { NetnsRef } from "../netns.js";
import { type Address, decodeAddress } from "../packet/addr-message.js";
import { decodeLink, type Link } from "../packet/link-message.js";
import { decodeNeighbour, type Neighbour } from "../packet/neigh-message.js";
import { decodeRoute, type Route } from "../packet/route-message.js";

export type EventKind = "link" | "addr" | "route" | "neigh";

export type RtnlEvent =
  | { kind: "link"; action: "new" | "del"; link: Link }
  | { kind: "addr"; action: "new" | "del"; address: Address }
  | { kind: "route"; action: "new" | "del"; route: Route }
  | { kind: "neigh"; action: "new" | "del"; neighbour: Neighbour }
  | {
      kind: "resync";
      /** Why: the kernel dropped events ("overrun") or the queue was full ("overflow"). */
      reason: ResyncReason;
      /** Queued events this resync replaced. */
      dropped: number;
      links: Link[];
      addresses: Address[];
      routes: Route[];
      neighbours: Neighbour[];
    };

const GROUPS: Record<EventKind, number[]> = {
  link: [C.RTNLGRP_LINK],
  addr: [C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
  neigh: [C.RTNLGRP_NEIGH],
};

export function decodeEvent(m: Message): RtnlEvent | undefined {
  switch (m.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return { kind: "link", action: m.type === C.RTM_NEWLINK ? "new" : "del", link: decodeLink(m.body) };
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return {
        kind: "addr",
        action: m.type === C.RTM_NEWADDR ? "new" : "del",
        address: decodeAddress(m.body),
      };
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return { kind: "route", action: m.type === C.RTM_NEWROUTE ? "new" : "del", route: decodeRoute(m.body) };
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH:
      return {
        kind: "neigh",
        action: m.type === C.RTM_NEWNEIGH ? "new" : "del",
        neighbour: decodeNeighbour(m.body),
      };
    default:
      return undefined;
  }
}

export interface Snapshotter {
  snapshot(): Promise<{ links: Link[]; addresses: Address[]; routes: Route[]; neighbours: Neighbour[] }>;
}

export interface EventOptions {
  /** Kernel receive buffer of the subscription's socket in bytes. */
  receiveBuffer?: number;
  /**
   * Most events kept for a consumer that is not reading (default 10 000). Past it the queued
   * events are dropped and replaced by one `resync` with the full current state.
   */
  maxQueued?: number;
}

/** Why a resync happened: the kernel dropped events (overrun) or our queue was full (overflow). */
export type ResyncReason = "overrun" | "overflow";

/** Counters of a subscription's losses, each one answered by a resync. */
export interface EventStats {
  /** Times the kernel dropped events for this socket (ENOBUFS). */
  overruns: number;
  /** Times the queue reached maxQueued. */
  overflows: number;
  /** Events dropped from the queue because a resync superseded them. */
  dropped: number;
  /** Resyncs delivered. */
  resyncs: number;
}

/**
 * Order guarantee: a `resync` is the state at some moment during its dump; every event queued
 * before the dump started is dropped (the snapshot supersedes it), and every event received
 * while the dump ran is delivered AFTER the resync. A consumer applying events in order
 * therefore never goes back in time.
 */
export class EventSubscription implements AsyncIterableIterator<RtnlEvent> {
  private readonly conn: NetlinkConnection;
  private queue: RtnlEvent[] = [];
  /** Events received while a snapshot is being taken, delivered after it. */
  private held: RtnlEvent[] = [];
  private snapshotting = false;
  private resyncAgain: ResyncReason | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: Error | undefined;
  private readonly maxQueued: number;
  readonly stats: EventStats = { overruns: 0, overflows: 0, dropped: 0, resyncs: 0 };

  constructor(
    kinds: EventKind[],
    netns: NetnsRef | undefined,
    private readonly snapshotter: Snapshotter,
    options: EventOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 10_000;
    this.conn = new NetlinkConnection({
      ...(netns !== undefined && { netns }),
      ...(options.receiveBuffer !== undefined && { receiveBuffer: options.receiveBuffer }),
    });
    for (const k of kinds) for (const g of GROUPS[k]) this.conn.netlinkSocket.joinGroup(g);
    this.conn.netlinkSocket.raw.ref();
    this.conn.onUnsolicited = (m) => {
      try {
        const e = decodeEvent(m);
        if (e) this.push(e);
      } catch (error) {
        this.failure = error as Error;
        this.wake?.();
      }
    };
    this.conn.onOverrun = () => {
      this.stats.overruns++;
      this.resync("overrun");
    };
  }

  /** Events waiting for the consumer (never more than maxQueued). */
  get queued(): number {
    return this.queue.length + this.held.length;
  }

  private push(e: RtnlEvent): void {
    if (this.closed) return;
    if (this.snapshotting) {
      this.held.push(e);
      if (this.held.length + this.queue.length >= this.maxQueued) {
        // Still falling behind while the dump runs: these go too, and another dump follows.
        this.stats.overflows++;
        this.stats.dropped += this.held.length;
        this.held = [];
        this.resyncAgain = "overflow";
      }
      return;
    }
    this.queue.push(e);
    if (this.queue.length >= this.maxQueued) {
      this.stats.overflows++;
      this.resync("overflow");
    }
    this.wake?.();
  }

  /** Drops what the snapshot will supersede, takes it, then delivers it before anything newer. */
  private resync(reason: ResyncReason): void {
    if (this.closed) return;
    if (this.snapshotting) {
      this.resyncAgain = reason;
      return;
    }
    const stale = this.queue.filter((e) => e.kind !== "resync");
    this.stats.dropped += stale.length;
    this.queue = this.queue.filter((e) => e.kind === "resync").slice(-1);
    this.snapshotting = true;
    this.takeSnapshot(reason, stale.length, 1);
  }

  private takeSnapshot(reason: ResyncReason, dropped: number, attempt: number): void {
    this.snapshotter.snapshot().then(
      (s) => {
        this.snapshotting = false;
        if (this.closed) return;
        this.stats.resyncs++;
        this.queue = [{ kind: "resync", reason, dropped, ...s }, ...this.held];
        this.held = [];
        const again = this.resyncAgain;
        this.resyncAgain = undefined;
        if (again) this.resync(again);
        this.wake?.();
      },
      (error: Error) => {
        if (this.closed) return;
        // Changes kept interrupting the dump (the reason we resync is usually a burst of them):
        // try again a little later instead of giving up on the subscription.
        if (error instanceof NetlinkDumpInterruptedError && attempt < 50) {
          setTimeout(
            () => this.takeSnapshot(reason, dropped, attempt + 1),
            Math.min(5 * attempt, 100),
          ).unref();
          return;
        }
        this.snapshotting = false;
        this.failure = error;
        this.wake?.();
      },
    );
  }

  async next(): Promise<IteratorResult<RtnlEvent>> {
    for (;;) {
      const e = this.queue.shift();
      if (e) return { value: e, done: false };
      if (this.failure) throw this.failure;
      if (this.closed) return { value: undefined, done: true };
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<RtnlEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.held = [];
    this.conn.close();
    this.wake?.();
  }
}
