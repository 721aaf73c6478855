// What every wiring's steps share: the setup context and the TAP step (a persistent TAP carrying
// our mark and link group, deleted by its undo).
import { type Nft, openTap, type Rtnl, type Step, step, type Tap } from "@vmnet/netlink-native";
import type { Tc } from "@vmnet/tc-qos";
import type { DhcpServer } from "../dhcp/index.js";
import { writeSysctls } from "../masquerade/index.js";
import type { Journal } from "../plan/journal.js";
import type { CsnJournal, JournalInterface } from "./types.js";

export interface Context {
  path: string;
  rtnl: Rtnl;
  nft?: Nft;
  tc?: Tc;
  record: CsnJournal;
  journal: Journal<CsnJournal>;
  taps: Map<string, Tap>;
  dhcp?: DhcpServer;
  /** Servers started by later steps (IPv6), stopped by teardown. */
  extra?: { stop(): Promise<void> }[];
}

/** Opens the TAP queues of a journalled interface (creating the persistent TAP when missing). */
export async function openJournalTap(path: string, record: CsnJournal, name: string): Promise<Tap> {
  return openTap({ name, netns: { path }, vnetHdr: record.vnetHdr, queues: record.queues, persist: true });
}

/** Opens a wired interface's TAP (not persistent: it lives as long as its fds) into ctx.taps. */
async function openWiredTap(ctx: Context, ji: JournalInterface): Promise<Tap> {
  const tap = await openTap({
    name: ji.tap,
    netns: { path: ctx.path },
    vnetHdr: ctx.record.vnetHdr,
    queues: ctx.record.queues,
  });
  ctx.taps.set(ji.tap, tap);
  return tap;
}

/** Closes the TAP's fds and deletes it (a persistent one outlives its fds). */
async function removeWiredTap(ctx: Context, ji: JournalInterface, link: string | number): Promise<void> {
  const closing = ctx.taps.get(ji.tap)?.close();
  ctx.taps.delete(ji.tap);
  await ctx.rtnl.links.deleteIfExists(link);
  await closing;
}

/**
 * A bridge port's TAP, opened but not yet persistent nor marked: the step that enslaves it marks
 * it in the same request and then persists it (see bridgeWaves in setup.ts), one request fewer
 * than tapStep. Until then it lives only as long as its fds: a process killed in between leaves
 * nothing behind.
 */
export function openTapStep(ctx: Context, ji: JournalInterface): Step {
  return step(
    `create ${ji.tap}`,
    async () => {
      await openWiredTap(ctx, ji);
    },
    () => removeWiredTap(ctx, ji, ji.tap),
  );
}

export function tapStep(ctx: Context, ji: JournalInterface, tcMode: boolean): Step {
  const { rtnl, record } = ctx;
  return step(
    `create ${ji.tap}`,
    async () => {
      // Made without IFF_PERSIST, marked, then persisted: a process killed before the mark leaves
      // no unmarked TAP behind (a non-persistent one goes with its fds, i.e. with the process).
      const tap = await openWiredTap(ctx, ji);
      try {
        await rtnl.links.set(tap.index, {
          mtu: ji.mtu,
          alias: record.mark,
          group: record.group,
          ...(tcMode && { mac: ji.cni.mac }),
        });
        tap.persist();
        if (tcMode) {
          // The TAP now has the VM's MAC, hence the VM's IPv6 link-local address: its own
          // duplicate address detection, sent toward the VM, would make the guest's fail. The
          // TAP needs no IPv6 of its own (it only carries the VM's frames).
          await writeSysctls(ctx.path, [[`net/ipv6/conf/${ji.tap}/disable_ipv6`, "1"]]);
          await rtnl.links.up(tap.index);
        }
      } catch (e) {
        await removeWiredTap(ctx, ji, tap.index);
        throw e;
      }
    },
    () => removeWiredTap(ctx, ji, ji.tap),
  );
}
