// rtnetlink multicast events as an async iterator. A subscription has its own socket (joined to
// the groups asked for) in the handle's netns. When the kernel drops events (ENOBUFS: the
// listener fell behind), the iterator re-dumps and yields a `resync` with the full current state,
// so a consumer's view never silently drifts.
import * as C from "../codec/constants.js";
import type { Message } from "../codec/message.js";
import { NetlinkConnection } from "../connection.js";
import type { NetnsRef } from "../netns.js";
import { type Address, decodeAddress } from "./addr-message.js";
import { decodeLink, type Link } from "./link-message.js";
import { decodeNeighbour, type Neighbour } from "./neigh-message.js";
import { decodeRoute, type Route } from "./route-message.js";

export type EventKind = "link" | "addr" | "route" | "neigh";

export type RtnlEvent =
  | { kind: "link"; action: "new" | "del"; link: Link }
  | { kind: "addr"; action: "new" | "del"; address: Address }
  | { kind: "route"; action: "new" | "del"; route: Route }
  | { kind: "neigh"; action: "new" | "del"; neighbour: Neighbour }
  | { kind: "resync"; links: Link[]; addresses: Address[]; routes: Route[]; neighbours: Neighbour[] };

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

export class EventSubscription implements AsyncIterableIterator<RtnlEvent> {
  private readonly conn: NetlinkConnection;
  private readonly queue: RtnlEvent[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: Error | undefined;

  constructor(
    kinds: EventKind[],
    netns: NetnsRef | undefined,
    snapshotter: Snapshotter,
    receiveBuffer?: number,
  ) {
    this.conn = new NetlinkConnection({
      ...(netns !== undefined && { netns }),
      ...(receiveBuffer !== undefined && { receiveBuffer }),
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
      snapshotter.snapshot().then(
        (s) => this.push({ kind: "resync", ...s }),
        (error: Error) => {
          this.failure = error;
          this.wake?.();
        },
      );
    };
  }

  private push(e: RtnlEvent): void {
    if (this.closed) return;
    this.queue.push(e);
    this.wake?.();
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
    this.conn.close();
    this.wake?.();
  }
}
