// The ifb links applyQos makes to shape what a link receives, and how their ownership is proven.
// The kernel ignores IFLA_IFALIAS in RTM_NEWLINK, so a mark cannot ride in the creating request:
// the ifb is created DOWN under a provisional name that itself names the creating process
// (`vq<pid>.<start>.<n>`, base 36), then renamed, marked and brought up in one RTM_SETLINK. A
// process killed between the two leaves a link whose name proves whose it was; one killed later
// leaves a marked link. Either way a later applyQos (or reapQosLeftovers) can tell it is a dead
// process's, and nothing unmarked and not so named is ever touched.
import {
  formatOwnerMark,
  isMarkOwnerAlive,
  type Link,
  type OwnerMark,
  ownerMarkForThisProcess,
  parseOwnerMark,
  processStartTicks,
} from "@vmnet/netlink-native";

/** The role written in the marks of applyQos's ifb links. */
export const QOS_IFB_ROLE = "ifb";
/** Default owner written in marks (an application may pass its own). */
export const DEFAULT_OWNER = "vmnet";

/** The mark applyQos writes on an ifb it creates. */
export function ifbMark(owner: string): string {
  return formatOwnerMark(ownerMarkForThisProcess(owner, QOS_IFB_ROLE));
}

/** The mark on a link when it is an applyQos ifb's (any owner), else undefined. */
export function ifbMarkOf(link: Pick<Link, "alias">): OwnerMark | undefined {
  const m = parseOwnerMark(link.alias);
  return m && m.role === QOS_IFB_ROLE ? m : undefined;
}

const PROVISIONAL = /^vq([0-9a-z]{1,5})\.([0-9a-z]{1,3})\.([0-9a-z]{1,3})$/;
let provisionalSeq = 0;

/** A provisional name naming this process: "vq" + pid + "." + start time (last 3 base-36 digits) + "." + n. */
export function provisionalIfbName(): string {
  const start = (processStartTicks(process.pid) ?? 0) % 36 ** 3;
  provisionalSeq = (provisionalSeq + 1) % 36 ** 3;
  return `vq${process.pid.toString(36)}.${start.toString(36)}.${provisionalSeq.toString(36)}`;
}

/**
 * For a link named provisionally by some process: whether that process is gone (a recycled pid is
 * told apart by its start time). undefined when the name is not a provisional one.
 */
export function provisionalOwnerGone(name: string): boolean | undefined {
  const m = PROVISIONAL.exec(name);
  if (!m) return undefined;
  const pid = Number.parseInt(m[1] as string, 36);
  const start = processStartTicks(pid);
  if (start === undefined) return true;
  return start % 36 ** 3 !== Number.parseInt(m[2] as string, 36);
}

/** Whether an ifb marked by applyQos belongs to a process that is gone. */
export function isLeftover(link: Pick<Link, "alias" | "name" | "kind">, owner?: string): boolean {
  if (link.kind !== undefined && link.kind !== "ifb") return false;
  const mark = ifbMarkOf(link);
  if (mark) return (owner === undefined || mark.owner === owner) && !isMarkOwnerAlive(mark);
  if (link.alias) return false; // someone else's alias: foreign
  return provisionalOwnerGone(link.name) === true;
}
