// The ownership mark every vmnet layer writes on the kernel objects it creates (a link's ifalias,
// a tc filter's or nftables rule's comment), so that a crashed process's leftovers can be found
// and reaped, and nothing foreign is ever touched. One format, parsed strictly: text that is not
// exactly a mark is foreign.
//
//   vmnet:1 owner=<owner> pid=<pid>@<start> role=<role>
//
// <start> is the process's start time in clock ticks since boot (/proc/<pid>/stat field 22), so a
// recycled pid is never mistaken for the process that made the object.
import { readFileSync } from "node:fs";

export interface OwnerMark {
  /** Who owns it: a name the application chose (default "vmnet"); [A-Za-z0-9._-], 1–64 bytes. */
  readonly owner: string;
  /** The process that created it. */
  readonly pid: number;
  /** That process's start time in clock ticks since boot; 0 when unknown. */
  readonly start: number;
  /** What the object is for, e.g. `ifb`, `tap`, `bridge`; same charset, 1–64 bytes. */
  readonly role: string;
}

const TOKEN = /^[A-Za-z0-9._-]{1,64}$/;
const MARK = /^vmnet:1 owner=([A-Za-z0-9._-]{1,64}) pid=(\d{1,10})@(\d{1,20}) role=([A-Za-z0-9._-]{1,64})$/;

/** True when `s` can be an owner or role in a mark. */
export function isMarkToken(s: string): boolean {
  return TOKEN.test(s);
}

export function formatOwnerMark(mark: OwnerMark): string {
  if (!TOKEN.test(mark.owner)) throw new RangeError(`owner mark: bad owner ${JSON.stringify(mark.owner)}`);
  if (!TOKEN.test(mark.role)) throw new RangeError(`owner mark: bad role ${JSON.stringify(mark.role)}`);
  return `vmnet:1 owner=${mark.owner} pid=${mark.pid}@${mark.start} role=${mark.role}`;
}

/** The mark in `text`, or undefined when the text is anything else (a foreign alias). */
export function parseOwnerMark(text: string | undefined | null): OwnerMark | undefined {
  if (!text) return undefined;
  const m = MARK.exec(text);
  if (!m) return undefined;
  return { owner: m[1] as string, pid: Number(m[2]), start: Number(m[3]), role: m[4] as string };
}

/** Start time of `pid` in clock ticks since boot, or undefined when there is no such process. */
export function processStartTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(rest[19]);
  return Number.isFinite(start) ? start : undefined;
}

let selfStart: number | undefined;

/** A mark naming this process as the creator. */
export function ownerMarkForThisProcess(owner: string, role: string): OwnerMark {
  selfStart ??= processStartTicks(process.pid) ?? 0;
  return { owner, pid: process.pid, start: selfStart, role };
}

/**
 * True when the process that wrote `mark` is still running (same pid, same start time). A mark
 * whose process is gone belongs to a crashed or exited process: its objects may be reaped.
 */
export function isMarkOwnerAlive(mark: OwnerMark): boolean {
  const start = processStartTicks(mark.pid);
  if (start === undefined) return false;
  return mark.start === 0 || start === mark.start;
}
