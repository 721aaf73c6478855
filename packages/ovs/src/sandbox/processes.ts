// The processes a sandbox deals with: its owner (the Node process that started it, identified by
// pid and start time so a recycled pid is never mistaken for it) and its two daemons (identified by
// pid and by the sandbox directory on their command line, so a stranger's process is never signalled).

import { readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { OvsTimeoutError } from "../errors.js";

/** Fields after the command name of /proc/<pid>/stat (the name may hold spaces and parentheses). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Start time of `pid` in clock ticks since boot (stat field 22), or undefined when there is none. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const start = Number(statFields(readFileSync(`/proc/${pid}/stat`, "latin1"))[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` still runs and started at `start` (the same process, not a recycled pid). */
export function isProcessAlive(pid: number, start: number): boolean {
  const now = processStartTicks(pid);
  return now !== undefined && now === start && isRunningSync(pid);
}

function isRunningSync(pid: number): boolean {
  try {
    const state = statFields(readFileSync(`/proc/${pid}/stat`, "latin1"))[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Whether the process still runs (not yet a zombie). */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const state = statFields(await readFile(`/proc/${pid}/stat`, "latin1"))[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** A pid still names a sandbox daemon when it runs with the sandbox directory on its command line. */
export async function isDaemonOf(pid: number, dir: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return (await isRunning(pid)) && cmdline.split("\0").some((arg) => arg.includes(`${dir}/`));
  } catch {
    return false;
  }
}

/**
 * Ends a sandbox daemon: SIGTERM, then SIGKILL after timeoutMs. Does nothing unless the pid is
 * still that sandbox's daemon. Resolves once the process is gone.
 */
export async function terminateDaemon(pid: number, dir: string, timeoutMs = 10_000): Promise<boolean> {
  if (!(await isDaemonOf(pid, dir))) return false;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  // Ownership is checked once, above: an exiting process loses its cmdline (state D while the
  // kernel tears down its ports) long before it is gone, so from here on wait for the process.
  while (await isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      await sleep(50);
      if (await isRunning(pid))
        throw new OvsTimeoutError(`process ${pid} did not exit after SIGKILL`, timeoutMs);
      return true;
    }
    await sleep(10);
  }
  return true;
}

/** A process seen from here that lives in another pid namespace. */
export interface ForeignProcess {
  /** Its pid in our view. */
  readonly pid: number;
  /** Its pid inside its own namespace (the last NSpid entry). */
  readonly innerPid: number;
  readonly start: number | undefined;
}

/**
 * The processes we can see that live in the pid namespace with this inode (a namespace below
 * ours shows its processes here, under other pids; one beside or above ours shows none).
 */
export async function processesInPidns(inode: number): Promise<ForeignProcess[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return [];
  }
  const found: ForeignProcess[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if ((await stat(`/proc/${pid}/ns/pid`)).ino !== inode) continue;
      const status = await readFile(`/proc/${pid}/status`, "latin1");
      const nspids = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
      const innerPid = nspids[nspids.length - 1];
      if (innerPid === undefined || !Number.isInteger(innerPid)) continue;
      if (!(await isRunning(pid))) continue;
      found.push({ pid, innerPid, start: processStartTicks(pid) });
    } catch {}
  }
  return found;
}
