// Teardown: the journal says what setup found and what it created; this puts the pod's netns back
// to exactly that. Idempotent (what is already restored or gone is skipped), usable from another
// process after a crash, and it never touches an object that does not carry our mark. Every part
// is attempted; the failures are reported together (never swallowed), and the journal is kept
// until everything succeeded, so a teardown that failed can be run again.
import { type Link, Nft, Rtnl } from "@vmnet/netlink-native";
import { Tc } from "@vmnet/tc-qos";
import { VmnetError } from "../errors.js";
import { forwardingRestore, writeSysctls } from "../masquerade/index.js";
import type { Journal } from "../plan/journal.js";
import { turnRoom } from "../plan/turn-room.js";
import { CSN_REDIRECT_PRIO, DHCP_PASS_PRIO_V4, DHCP_PASS_PRIO_V6 } from "./dhcp-guard.js";
import { configureLinkWith } from "./link-info.js";
import type { CsnJournal } from "./types.js";

/** Teardown that could not restore everything: one entry per part that failed. */
export class TeardownError extends VmnetError {
  override readonly name = "TeardownError";
  constructor(
    readonly netns: string,
    readonly failures: readonly { part: string; error: Error }[],
  ) {
    super(
      `teardown of the container-side network in ${netns}: ${failures.length} part(s) failed: ${failures
        .map((f) => `${f.part}: ${f.error.message}`)
        .join("; ")}`,
    );
  }
}

const LOOPBACK_IFINDEX = 1;

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/** Handles a caller already holds in the pod's netns (setup keeps its own for teardown). */
export interface NetnsHandles {
  rtnl?: Rtnl;
  nft?: Nft;
}

export async function restoreFromJournal(
  path: string,
  record: CsnJournal,
  journal: Journal<CsnJournal>,
  handles: NetnsHandles = {},
): Promise<void> {
  const failures: { part: string; error: Error }[] = [];
  const attempt = async (part: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      failures.push({ part, error: asError(e) });
    }
  };
  const rtnl = handles.rtnl ?? (await Rtnl.open({ netns: { path } }));
  await turnRoom();
  try {
    const nftPart = async () => {
      if (!record.nftTable) return;
      const family = record.nftFamily ?? "bridge";
      const nft = handles.nft ?? (await Nft.open({ netns: { path } }));
      try {
        const table = (await nft.tables(family)).find((t) => t.name === record.nftTable);
        if (!table) return;
        if (table.comment !== record.mark)
          throw new VmnetError(
            `nftables table ${family} ${record.nftTable} is not ours (comment ${JSON.stringify(table.comment ?? "")})`,
          );
        await nft.deleteTable(family, table.name);
      } finally {
        if (nft !== handles.nft) await nft.close();
      }
    };
    const tcPart = async () => {
      if (record.mode !== "tcfilter") return;
      const tc = await Tc.open({ rtnl });
      try {
        for (const i of record.interfaces) {
          const ingress = await tc.qdiscs.get(i.cni.index, "ingress");
          if (!ingress) continue;
          for (const prio of [DHCP_PASS_PRIO_V4, DHCP_PASS_PRIO_V6, CSN_REDIRECT_PRIO]) {
            try {
              await tc.filters.delete(i.cni.index, { parent: "ffff:", prio });
            } catch (e) {
              const code = (e as { code?: string }).code;
              if (code !== "ENOENT" && code !== "EINVAL") throw e;
            }
          }
          if (!i.hadIngress) await tc.qdiscs.delete(i.cni.index, { kind: "ingress" });
        }
      } finally {
        await tc.close();
      }
    };
    // Ours: named in the journal and carrying our mark (a same-named link without it is left
    // alone). When our group holds only our links, deleting the group is one request, so the
    // kernel waits for RCU once for every TAP and bridge together.
    const linksPart = async (now: readonly Link[]) => {
      const names = new Set(record.interfaces.flatMap((i) => [i.tap, ...(i.bridge ? [i.bridge] : [])]));
      const inGroup = now.filter((l) => l.group === record.group);
      const ours = now.filter((l) => names.has(l.name) && l.alias === record.mark);
      if (inGroup.length > 0 && inGroup.every((l) => l.alias === record.mark)) {
        await rtnl.links.deleteGroup(record.group);
      } else {
        await Promise.all(ours.map((l) => rtnl.links.deleteIfExists(l.index)));
      }
    };
    // Masquerade mode never changed the CNI interfaces: nothing of theirs to put back, only the
    // sysctls it turned on.
    const sysctlPart = async () => {
      const m = record.masquerade;
      if (!m) return;
      const present = new Set((await rtnl.links.identities()).map((l) => l.name));
      await writeSysctls(path, forwardingRestore(m.sysctls, present));
    };
    const restoreCni = (now: readonly Link[]) =>
      (record.masquerade ? [] : record.interfaces).map((i) =>
        attempt(`restore ${i.cni.name}`, async () => {
          // (Asked again when the dump lacks it: the dump is only a shortcut for the common case.)
          const link = now.find((l) => l.index === i.cni.index) ?? (await rtnl.links.find(i.cni.index));
          if (!link) throw new VmnetError(`link ${i.cni.index} ("${i.cni.name}") is gone`);
          if (link.name !== i.cni.name)
            throw new VmnetError(`link ${i.cni.index} is now "${link.name}", not "${i.cni.name}"`);
          const changes: { mac?: string; mtu?: number; up?: boolean; txqlen?: number } = {};
          if (link.mac !== i.cni.mac) changes.mac = i.cni.mac;
          if (link.mtu !== i.cni.mtu) changes.mtu = i.cni.mtu;
          if (link.up !== i.cni.up) changes.up = i.cni.up;
          // The kernel gives a queue-less link a queue length when a qdisc comes and goes.
          if (i.cni.txqlen !== undefined && link.txqlen !== i.cni.txqlen) changes.txqlen = i.cni.txqlen;
          const set = () =>
            Object.keys(changes).length > 0 ? rtnl.links.set(i.cni.index, changes) : undefined;
          // The identity and the addresses and routes at once (independent), unless the link's
          // state changes: a route through a gateway needs the link in its final state.
          if (changes.up !== undefined) {
            await set();
            await configureLinkWith(rtnl, i.cni);
          } else await Promise.all([set(), configureLinkWith(rtnl, i.cni)]);
        }),
      );
    // Everything at once but the links: the nftables table, the sysctls, loopback. The links go
    // last, in order: the tc filters and qdiscs (removing a qdisc can change the link's queue
    // length), one link dump, the CNI links' identity put back (while still a bridge port: a port
    // takes its MAC, addresses and routes like any link), and then our links deleted. The group
    // delete is most of teardown's time (the kernel's RCU waits, inside the request): nothing
    // queues behind it on the socket.
    await Promise.all([
      attempt("nftables", nftPart),
      attempt("sysctls", sysctlPart),
      (async () => {
        await attempt("tc", tcPart);
        let now: Link[] | undefined;
        await attempt("links", async () => {
          now = await rtnl.links.list();
        });
        if (!now) return;
        const seen = now;
        // Restoring the CNI links encodes a few dozen requests: a turn's worth (turn-room.ts).
        await turnRoom();
        await Promise.all(restoreCni(seen));
        await attempt("links", () => linksPart(seen));
      })(),
      // Loopback is ifindex 1 in every network namespace (LOOPBACK_IFINDEX).
      record.loWasUp ? undefined : attempt("lo", () => rtnl.links.down(LOOPBACK_IFINDEX)),
    ]);
  } finally {
    if (rtnl !== handles.rtnl) await rtnl.close();
  }
  if (failures.length > 0) throw new TeardownError(path, failures);
  await journal.remove();
}
