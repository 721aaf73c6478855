// Link names to ifindexes for a Tc handle. A name alone is one RTM_GETLINK; many names asked for
// in the same turn (Promise.all over a thousand links) are resolved by one link dump, as tc -batch
// does with its name cache: the kernel answers a thousand RTM_GETLINKs sent at once much more
// slowly (each reply sized for the largest link, all alive together). Nothing is cached: each
// call is answered from a request or dump made after it was called.
import type { NetlinkConnection } from "@vmnet/netlink-native";
import { NetlinkError, requests } from "@vmnet/netlink-native";
import { IFLA_IFNAME, RTM_NEWLINK } from "@vmnet/netlink-native/codec";

/** From this many names asked for together, one link dump answers them. */
export const LINK_DUMP_MIN = 64;

interface Waiter {
  name: string;
  resolve(index: number): void;
  reject(e: unknown): void;
}

/** ifi_index and IFLA_IFNAME of an RTM_NEWLINK body, without decoding the rest of the link. */
export function linkIndexAndName(body: Buffer): [number, string | undefined] {
  const index = body.readInt32LE(4);
  for (let off = 16; off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < 4) break;
    if ((body.readUInt16LE(off + 2) & 0x3fff) === IFLA_IFNAME) {
      const nul = body.indexOf(0, off + 4);
      return [index, body.toString("utf8", off + 4, nul < 0 || nul > off + len ? off + len : nul)];
    }
    off += (len + 3) & ~3;
  }
  return [index, undefined];
}

export class NameResolver {
  private pending: Waiter[] = [];

  constructor(private readonly conn: NetlinkConnection) {}

  resolve(name: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ name, resolve, reject });
      // Names asked for in the same turn (a synchronous loop) are collected before anything is sent.
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    });
  }

  /** One RTM_GETLINK (names and altnames); only ifi_index is read from the answer. */
  async one(name: string): Promise<number> {
    const req = requests.linkGet(name);
    const msgs = await this.conn.request(req.type, req.flags, req.body, { op: "link get", object: name });
    const m = msgs.find((x) => x.type === RTM_NEWLINK);
    if (!m || m.body.length < 8) throw new NetlinkError(19, { op: "link get", object: name });
    return m.body.readInt32LE(4);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length < LINK_DUMP_MIN) {
      for (const w of batch) this.one(w.name).then(w.resolve, w.reject);
      return;
    }
    const req = requests.linkDump(false);
    this.conn.dumpAll(req.type, req.body, { op: "link list" }).then(
      (msgs) => {
        const byName = new Map<string, number>();
        for (const m of msgs) {
          if (m.type !== RTM_NEWLINK || m.body.length < 16) continue;
          const [index, name] = linkIndexAndName(m.body);
          if (name !== undefined) byName.set(name, index);
        }
        for (const w of batch) {
          const index = byName.get(w.name);
          // Not in the dump (an altname, or a link made since): asked for alone.
          if (index === undefined) this.one(w.name).then(w.resolve, w.reject);
          else w.resolve(index);
        }
      },
      (e: unknown) => {
        for (const w of batch) w.reject(e);
      },
    );
  }
}
