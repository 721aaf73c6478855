// Rtnl: one handle per network namespace. Its socket lives in that netns for its whole life, so
// every operation acts there, whatever thread or netns the caller is in.
import { z } from "zod";
import { NetlinkConnection } from "./connection.js";
import type { NetnsRef } from "./netns.js";
import { Addresses } from "./rtnl/addresses.js";
import { type EventKind, type EventOptions, EventSubscription } from "./rtnl/events.js";
import { Links } from "./rtnl/links.js";
import { Neighbours } from "./rtnl/neighbours.js";
import { Routes } from "./rtnl/routes.js";
import { check, netnsRef, timeoutMs } from "./validate.js";

const rtnlOptions = z.object({ netns: netnsRef.optional(), timeoutMs: timeoutMs.optional() }).strict();
const eventKinds = z.array(z.enum(["link", "addr", "route", "neigh"])).min(1, "must name at least one kind");
const eventOptions = z
  .object({
    receiveBuffer: z.number().int().min(1024, "must be at least 1024 bytes").optional(),
    maxQueued: z.number().int().min(1, "must be at least 1").optional(),
  })
  .strict();

export interface RtnlOptions {
  /** The namespace to act in (name under /run/netns, path, or pid). Default: the caller's. */
  netns?: NetnsRef;
  /** Per-request deadline in ms (default 60 000). */
  timeoutMs?: number;
}

export class Rtnl {
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly neighbours: Neighbours;

  private constructor(
    private readonly conn: NetlinkConnection,
    private readonly options: RtnlOptions,
  ) {
    this.links = new Links(conn);
    this.addresses = new Addresses(conn, this.links);
    this.routes = new Routes(conn, this.links);
    this.neighbours = new Neighbours(conn, this.links);
  }

  /**
   * Opens a handle; its socket is made inside the netns on libuv's pool. Bad options are a
   * NetlinkInputError naming the field; a netns that does not exist is a NetnsError (ENOENT).
   */
  static async open(options: RtnlOptions = {}): Promise<Rtnl> {
    const o = check(rtnlOptions, options, "options") as RtnlOptions;
    const conn = await NetlinkConnection.open(o);
    conn.netlinkSocket.enableStrictCheck();
    return new Rtnl(conn, o);
  }

  /**
   * The rtnetlink connection this handle sends on. Another handle acting in the same netns (e.g.
   * `Tc.open({ rtnl })` in @vmnet/tc-qos) shares it instead of opening a second socket; the
   * connection stays owned by this Rtnl and closes with it.
   */
  get connection(): NetlinkConnection {
    return this.conn;
  }

  /** The kernel's port id for this handle's socket. */
  get portId(): number {
    return this.conn.portId;
  }

  /** Subscribes to link/addr/route/neigh events in this handle's netns. */
  events(
    kinds: EventKind[] = ["link", "addr", "route", "neigh"],
    options: EventOptions = {},
  ): EventSubscription {
    const o = check(eventOptions, options, "options");
    check(eventKinds, kinds, "kinds");
    return new EventSubscription(kinds, this.options.netns, this, o as EventOptions);
  }

  /** Everything at once (what a resync after a dropped event yields). */
  async snapshot() {
    const [links, addresses, routes, neighbours] = await Promise.all([
      this.links.list(),
      this.addresses.list(),
      this.routes.list({ table: 0 }),
      this.neighbours.list(),
    ]);
    return { links, addresses, routes, neighbours };
  }

  /** Closes the handle; the promise settles once its socket's fd is closed (no need to wait). */
  close(): Promise<void> {
    return this.conn.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
