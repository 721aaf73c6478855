// Link names to ifindexes for a Tc. Names asked for in the same turn (Promise.all over a thousand
// links) are looked up together, in one trip to libuv's pool: the kernel finds each in its name
// hash (ioctl, as if_nametoindex does), with no message built per link. The link dump tc -batch
// reads for its name cache costs the kernel a kilobyte per link of the netns (15-30 ms for 2000
// links, most of an apply of a thousand rates). Names the lookup cannot answer (no such link, or an
// altname too long for the ioctl) are asked for alone by RTM_GETLINK, which fails or finds each on
// its own. Nothing is cached between calls.
import type { Rtnl } from "@vmnet/netlink-native";

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
    if (batch.length === 1) {
      this.one(batch[0] as Waiter);
      return;
    }
    this.rtnl.connection
      .linkIndexes(
        batch.map((w) => w.name),
        { op: "link resolve" },
      )
      .then(
        (found) => {
          batch.forEach((w, i) => {
            const index = found[i] as number;
            if (index > 0) w.resolve(index);
            else this.one(w);
          });
        },
        (e: unknown) => {
          for (const w of batch) w.reject(e);
        },
      );
  }
}
