// Crash recovery: a process that set up a pod's network died; its journal and marked objects are
// still there. recoverContainerSideNetwork re-opens the TAPs (persistent, so they outlived the
// process) and restarts DHCP, so the VM can be restarted; or, on request, tears everything down.
// A setup that died before it completed is always torn down (there is nothing whole to re-open).
import type { NetnsRef, Tap } from "@vmnet/netlink-native";
import { VmnetError } from "../errors.js";
import { checkNetns } from "./netns.js";
import { checkOptions, recoverOptionsSchema } from "./options.js";
import { paced } from "./pacing.js";
import { handOut, journalFor, startDhcp, startIpv6 } from "./setup.js";
import { openJournalTap } from "./tap-step.js";
import { restoreFromJournal } from "./teardown.js";
import type { ContainerSideNetwork } from "./types.js";

export interface RecoverOptions {
  /** Where setup kept its journal (default /run/vmnet). */
  stateDir?: string;
  /** Restore the pod's netns as setup found it instead of re-opening. */
  teardown?: boolean;
  /** Restart the DHCP server on the re-opened TAPs (default true). */
  dhcp?: boolean;
}

/**
 * Picks up a pod network whose process is gone. Returns the network (TAPs re-opened, DHCP
 * serving), or undefined when it was torn down (asked for, or setup had not completed). Throws
 * VmnetError when the netns has no journal.
 */
export async function recoverContainerSideNetwork(
  netns: NetnsRef,
  options: RecoverOptions = {},
): Promise<ContainerSideNetwork | undefined> {
  // Checked when its turn comes, as setup's input is (see setupContainerSideNetwork).
  return paced(() => recoverChecked(checkOptions(recoverOptionsSchema, options, ""), checkNetns(netns)));
}

async function recoverChecked(
  o: ReturnType<typeof checkOptions<typeof recoverOptionsSchema>>,
  { path, id }: ReturnType<typeof checkNetns>,
): Promise<ContainerSideNetwork | undefined> {
  const journal = journalFor(o.stateDir, id);
  const record = await journal.read();
  if (!record) throw new VmnetError(`no container-side network journal for ${path} in ${journal.dir}`);
  if (o.teardown || !record.complete) {
    await restoreFromJournal(path, record, journal);
    return undefined;
  }
  const taps = new Map<string, Tap>();
  try {
    for (const i of record.interfaces) taps.set(i.tap, await openJournalTap(path, record, i.tap));
    const dhcp = o.dhcp === false ? undefined : await startDhcp(path, record);
    let ipv6: Awaited<ReturnType<typeof startIpv6>>;
    try {
      ipv6 = o.dhcp === false ? undefined : await startIpv6(path, record);
    } catch (e) {
      await dhcp?.stop();
      throw e;
    }
    return handOut(path, record, journal, taps, dhcp, {}, ipv6);
  } catch (e) {
    await Promise.allSettled([...taps.values()].map((tap) => tap.close()));
    throw e;
  }
}
