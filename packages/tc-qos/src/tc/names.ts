// Link names to ifindexes for a Tc. A name alone is one RTM_GETLINK; many names asked for in the
// same turn (Promise.all over a thousand links) are resolved by one dump of Rtnl's link
// identities (what links.resolve reads), as tc -batch does with its name cache. Nothing is cached between calls.
import type { Rtnl } from "@vmnet/netlink-native";

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
    // Rtnl's identity dump (what links.resolve reads): names and altnames of every link.
    this.rtnl.links.identities().then(
      (links) => {
        const byName = new Map<string, number>();
        for (const l of links) {
          byName.set(l.name, l.index);
          for (const alt of l.altNames) if (!byName.has(alt)) byName.set(alt, l.index);
        }
        for (const w of batch) {
          const index = byName.get(w.name);
          // Not in the dump (made since, or absent): asked for alone, so it fails alone.
          if (index === undefined) this.one(w);
          else w.resolve(index);
        }
      },
      (e: unknown) => {
        for (const w of batch) w.reject(e);
      },
    );
  }
}
