// Link names to ifindexes for a Tc. A name alone is one RTM_GETLINK; many names asked for in the
// same turn (Promise.all over a thousand links) are resolved by one link dump, as tc -batch does
// with its name cache. The dump is parsed as it arrives, and its names are answered together once
// the last one asked for is in: the callers' requests then leave as one batch, sent quietly
// (NetlinkConnection's quietSends, which a dump in flight rules out), instead of trickling out
// beside the dump with the loop thread woken for every answer. Nothing is cached between calls.
import { NetlinkDumpInterruptedError, type Rtnl } from "@vmnet/netlink-native";
import * as C from "@vmnet/netlink-native/codec";
import { linkIdentityDumpRequest, namesOfLink } from "./link-names.js";

/** From this many names asked for together, one link dump answers them. */
export const LINK_DUMP_MIN = 64;

interface Waiter {
  name: string;
  resolve(index: number): void;
  reject(e: unknown): void;
}

export class LinkNames {
  private pending: Waiter[] = [];

  constructor(private readonly rtnl: Rtnl) {}

  resolve(name: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ name, resolve, reject });
      // Names asked for in the same turn (a synchronous loop) are collected before anything is sent.
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private one(w: Waiter): void {
    this.rtnl.links.index(w.name).then(w.resolve, w.reject);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length < LINK_DUMP_MIN) {
      for (const w of batch) this.one(w);
      return;
    }
    const waiting = new Map<string, Waiter[]>();
    for (const w of batch) {
      const list = waiting.get(w.name);
      if (list) list.push(w);
      else waiting.set(w.name, [w]);
    }
    this.stream(waiting).then(
      // Not in the dump (made since, absent, or the dump was interrupted before it): asked for
      // alone, so each fails (ENODEV) or succeeds on its own.
      () => {
        for (const list of waiting.values()) for (const w of list) this.one(w);
      },
      (e: unknown) => {
        for (const list of waiting.values()) for (const w of list) w.reject(e);
      },
    );
  }

  /**
   * Finds waiters' links in the link dump as its messages arrive, removes them from `waiting`,
   * and answers them together when the dump ends or has nothing more they asked for.
   */
  private async stream(waiting: Map<string, Waiter[]>): Promise<void> {
    const req = linkIdentityDumpRequest();
    const found: { list: Waiter[]; index: number }[] = [];
    const answer = (name: string, index: number) => {
      const list = waiting.get(name);
      if (!list) return;
      waiting.delete(name);
      found.push({ list, index });
    };
    try {
      for await (const m of this.rtnl.connection.dump(req.type, req.body, { op: "link list" })) {
        if (m.type !== C.RTM_NEWLINK) continue;
        namesOfLink(m.body, answer);
        if (waiting.size === 0) return; // the rest of the dump is read, and ignored, by dump()
      }
    } catch (e) {
      // Names already found came from links that existed: only the rest are asked for again.
      if (!(e instanceof NetlinkDumpInterruptedError)) throw e;
    } finally {
      for (const { list, index } of found) for (const w of list) w.resolve(index);
    }
  }
}
