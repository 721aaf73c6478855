// Teardown: the journal says what setup found and what it created; this puts the pod's netns back
// to exactly that. Idempotent (what is already restored or gone is skipped), usable from another
// process after a crash, and it never touches an object that does not carry our mark. Every part
// is attempted; the failures are reported together (never swallowed), and the journal is kept
// until everything succeeded, so a teardown that failed can be run again.
import { Nft, Rtnl } from "@vmnet/netlink-native";
import { Tc } from "@vmnet/tc-qos";
import { VmnetError } from "../errors.js";
import { forwardingRestore, writeSysctls } from "../masquerade/index.js";
import type { Journal } from "../plan/journal.js";
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
        if (nft !== handles.nft) nft.close();
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
        tc.close();
      }
    };
    const linksPart = async () => {
      // Ours: named in the journal and carrying our mark (a same-named link without it is left
      // alone). When our group holds only our links, deleting the group is one request, so the
      // kernel waits for RCU once for every TAP and bridge together.
      const ids = await rtnl.links.identities();
      const names = new Set(record.interfaces.flatMap((i) => [i.tap, ...(i.bridge ? [i.bridge] : [])]));
      const inGroup = ids.filter((l) => l.group === record.group);
      const ours = ids.filter((l) => names.has(l.name) && l.alias === record.mark);
      if (inGroup.length > 0 && inGroup.every((l) => l.alias === record.mark)) {
        await rtnl.links.deleteGroup(record.group);
      } else {
        await Promise.all(ours.map((l) => rtnl.links.deleteIfExists(l.index)));
      }
    };
    // Everything at once: the nftables table, our links (one group delete, where the kernel's RCU
    // wait is most of teardown's time), the tc filters and the CNI links' identity. The CNI links
    // need not wait for their bridge to go: a bridge port takes its MAC, addresses and routes back
    // as well, and deleting the bridge releases it.
    // Masquerade mode never changed the CNI interfaces: nothing of theirs to put back, only the
    // sysctls it turned on.
    const sysctlPart = async () => {
      const m = record.masquerade;
      if (!m) return;
      const present = new Set((await rtnl.links.identities()).map((l) => l.name));
      await writeSysctls(path, forwardingRestore(m.sysctls, present));
    };
    const restoreCni = () =>
      (record.masquerade ? [] : record.interfaces).map((i) =>
        attempt(`restore ${i.cni.name}`, async () => {
          const link = await rtnl.links.get(i.cni.index);
          if (link.name !== i.cni.name)
            throw new VmnetError(`link ${i.cni.index} is now "${link.name}", not "${i.cni.name}"`);
          const changes: { mac?: string; mtu?: number; up?: boolean; txqlen?: number } = {};
          if (link.mac !== i.cni.mac) changes.mac = i.cni.mac;
          if (link.mtu !== i.cni.mtu) changes.mtu = i.cni.mtu;
          if (link.up !== i.cni.up) changes.up = i.cni.up;
          // The kernel gives a queue-less link a queue length when a qdisc comes and goes.
          if (i.cni.txqlen !== undefined && link.txqlen !== i.cni.txqlen) changes.txqlen = i.cni.txqlen;
          if (Object.keys(changes).length > 0) await rtnl.links.set(i.cni.index, changes);
          await configureLinkWith(rtnl, i.cni);
        }),
      );
    await Promise.all([
      attempt("nftables", nftPart),
      attempt("sysctls", sysctlPart),
      attempt("links", linksPart),
      // After the tc filters and qdiscs: removing a qdisc can change the link's queue length.
      (async () => {
        await attempt("tc", tcPart);
        await Promise.all(restoreCni());
      })(),
      // Loopback is ifindex 1 in every network namespace (LOOPBACK_IFINDEX).
      record.loWasUp ? undefined : attempt("lo", () => rtnl.links.down(LOOPBACK_IFINDEX)),
    ]);
  } finally {
    if (rtnl !== handles.rtnl) rtnl.close();
  }
  if (failures.length > 0) throw new TeardownError(path, failures);
  await journal.remove();
}
