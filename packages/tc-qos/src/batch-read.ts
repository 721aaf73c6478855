// Reads of a link's qdiscs for the QoS layer, shared by concurrent calls on one Tc. A call alone
// asks the kernel for exactly its link (RTM_GETQDISC at the root and at ingress, and under a
// netem/tbf root); when many calls start together (Promise.all over a thousand links), one qdisc
// dump serves them all instead of thousands of requests. Nothing is cached: every call reads
// after it started.
import type { LinkRef } from "@vmnet/netlink-native";
import { type Message, RTM_NEWQDISC } from "@vmnet/netlink-native/codec";
import * as C from "./constants.js";
import { qdiscDumpRequest } from "./requests.js";
import { decodeQdisc, type Qdisc, type Tc } from "./tc.js";

/** What a link has at its root (default or not), under a netem/tbf root, and at ingress. */
export interface LinkQdiscs {
  ifindex: number;
  root?: Qdisc;
  child?: Qdisc;
  ingress?: Qdisc;
  /** Every qdisc of the link, when a dump read them all (batches); absent for reads one by one. */
  all?: Qdisc[];
}

/** Calls that start together below this many read one by one (a dump lists every link). */
export const BATCH_MIN = 16;

interface Waiter {
  link: LinkRef;
  full: boolean;
  resolve(v: LinkQdiscs): void;
  reject(e: unknown): void;
}

function pick(ifindex: number, all: Qdisc[]): LinkQdiscs {
  const out: LinkQdiscs = { ifindex };
  for (const q of all) {
    if (q.parent === "root") out.root = q;
    else if (q.parent === "ingress") out.ingress = q;
  }
  const root = out.root;
  if (root && root.handle !== "0:" && (root.kind === "netem" || root.kind === "tbf")) {
    const child = all.find((q) => q.parent === `${root.handle}1` && q.handle !== "0:");
    if (child) out.child = child;
  }
  return out;
}

export class LinkReader {
  private pending: Waiter[] = [];

  constructor(private readonly tc: Tc) {}

  /** `full` false: kinds, places and raw options only (enough to plan and undo a change). */
  read(link: LinkRef, full = true): Promise<LinkQdiscs> {
    return new Promise((resolve, reject) => {
      this.pending.push({ link, full, resolve, reject });
      // Calls made in the same turn (a synchronous loop) are collected before anything is sent.
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    // Full reads (getQos) also report the link's default qdisc, which dumps leave out when it is
    // invisible: those always read one by one, as do small batches.
    const batch = this.pending.filter((w) => !w.full);
    for (const w of this.pending) if (w.full) this.readOne(w.link).then(w.resolve, w.reject);
    this.pending = [];
    if (batch.length < BATCH_MIN) {
      for (const w of batch) this.readOne(w.link).then(w.resolve, w.reject);
      return;
    }
    this.readMany(batch);
  }

  /** One link: its index, then the qdisc at the root and at ingress (and under the root). */
  async readOne(link: LinkRef): Promise<LinkQdiscs> {
    const ifindex = await this.tc.ifindex(link);
    const [root, ingress] = await Promise.all([
      this.tc.qdiscs.get(ifindex, "root"),
      this.tc.qdiscs.get(ifindex, "ingress"),
    ]);
    const all = [root, ingress].filter((q): q is Qdisc => q !== undefined);
    if (root && root.handle !== "0:" && (root.kind === "netem" || root.kind === "tbf")) {
      const child = await this.tc.qdiscs.get(ifindex, `${root.handle}1`);
      if (child) all.push(child);
    }
    return pick(ifindex, all);
  }

  /** Every qdisc of the namespace by link, from one dump (decoded per link when asked for). */
  private dumpByLink(): Promise<Map<number, Message[]>> {
    return this.tc.dump(qdiscDumpRequest(), { op: "qdisc list" }).then((dump) => {
      const byLink = new Map<number, Message[]>();
      for (const m of dump) {
        if (m.type !== RTM_NEWQDISC || m.body.length < C.SIZEOF_TCMSG) continue;
        const ifindex = m.body.readInt32LE(4);
        const list = byLink.get(ifindex);
        if (list) list.push(m);
        else byLink.set(ifindex, [m]);
      }
      return byLink;
    });
  }

  private of(ifindex: number, byLink: Map<number, Message[]>): LinkQdiscs {
    const qdiscs = (byLink.get(ifindex) ?? []).map((m) => decodeQdisc(m, this.tc.codec, false));
    const out = pick(ifindex, qdiscs);
    out.all = qdiscs;
    return out;
  }

  /**
   * Many links at once, however few (applyQosMany): one qdisc dump for all of them, their names
   * resolved together. One promise per link, each settled as soon as its name is resolved (the
   * link dump is streamed) and the qdisc dump is in; a link that does not exist rejects its own.
   */
  readEach(links: readonly LinkRef[]): Promise<LinkQdiscs>[] {
    const grouped = this.dumpByLink();
    // Names asked for together are resolved together too (one link dump: see names.ts).
    return links.map((l) =>
      Promise.all([this.tc.ifindex(l), grouped]).then(([ifindex, byLink]) => this.of(ifindex, byLink)),
    );
  }

  /**
   * One qdisc dump for the batch; each waiter is answered when both its name and the dump are in
   * (names asked for together are resolved together too: one link dump, see names.ts). No
   * promise per waiter beyond its name's.
   */
  private readMany(batch: Waiter[]): void {
    let byLink: Map<number, Message[]> | undefined;
    let failed: { error: unknown } | undefined;
    const named: [Waiter, number][] = [];
    const answer = (w: Waiter, ifindex: number, dump: Map<number, Message[]>) => {
      try {
        w.resolve(this.of(ifindex, dump));
      } catch (e) {
        w.reject(e);
      }
    };
    this.dumpByLink().then(
      (dump) => {
        byLink = dump;
        for (const [w, ifindex] of named) answer(w, ifindex, dump);
        named.length = 0;
      },
      (e: unknown) => {
        failed = { error: e };
        for (const [w] of named) w.reject(e);
        named.length = 0;
      },
    );
    for (const w of batch) {
      this.tc.ifindex(w.link).then((ifindex) => {
        if (byLink) answer(w, ifindex, byLink);
        else if (failed) w.reject(failed.error);
        else named.push([w, ifindex]);
      }, w.reject);
    }
  }
}

const readers = new WeakMap<Tc, LinkReader>();

export function linkReader(tc: Tc): LinkReader {
  let r = readers.get(tc);
  if (!r) {
    r = new LinkReader(tc);
    readers.set(tc, r);
  }
  return r;
}
