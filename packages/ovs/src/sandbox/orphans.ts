// Finding and reaping sandboxes whose owner process is gone (killed with SIGKILL, crashed): their
// daemons keep running detached, their directory and TAP devices stay. They are found by the
// marker file in their directory; only sandboxes whose owner (pid + start time) no longer runs
// are orphans, so a live owner's sandbox is never touched. Only markers written in this pid
// namespace are judged (a pid from another one could name anyone here).
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseInput } from "../errors.js";
import { isJudgeable, isOwnerAlive, readMarker, type SandboxMarker } from "./marker.js";
import { isDaemonOf } from "./processes.js";
import { type TeardownReport, teardownSandbox } from "./teardown.js";

/** Prefix of the directories start() makes under the temp dir. */
export const SANDBOX_DIR_PREFIX = "vmnet-ovs-";

const findOptions = z
  .object({
    /** Directories to look in for `vmnet-ovs-*` sandbox directories (default: the temp dir). */
    roots: z.array(z.string().min(1)).optional(),
    /** Sandbox directories to check as well (for sandboxes started with `dir`). */
    dirs: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type FindOrphansOptions = z.input<typeof findOptions>;

/** A sandbox whose owner process is gone. */
export interface OrphanSandbox {
  readonly dir: string;
  /** The ownership mark of the process that started it. */
  readonly mark: string;
  readonly ownerPid: number;
  readonly netns: string | undefined;
  /** Its daemons that still run. */
  readonly runningDaemons: number[];
}

export interface ReapedSandbox extends TeardownReport {
  readonly dir: string;
}

async function candidates(options: z.output<typeof findOptions>): Promise<string[]> {
  const dirs = new Set(options.dirs ?? []);
  for (const root of options.roots ?? [tmpdir()]) {
    let entries: string[] = [];
    try {
      entries = await readdir(root);
    } catch {}
    for (const entry of entries) if (entry.startsWith(SANDBOX_DIR_PREFIX)) dirs.add(join(root, entry));
  }
  return [...dirs];
}

async function orphanIn(dir: string): Promise<{ orphan: OrphanSandbox; marker: SandboxMarker } | undefined> {
  const marker = await readMarker(dir);
  // A marker from another pid namespace names a pid we cannot check: never an orphan from here.
  if (!marker || !isJudgeable(marker) || isOwnerAlive(marker)) return undefined;
  const runningDaemons: number[] = [];
  for (const pid of Object.values(marker.daemons)) if (await isDaemonOf(pid, dir)) runningDaemons.push(pid);
  return {
    marker,
    orphan: { dir, mark: marker.mark, ownerPid: marker.pid, netns: marker.netns, runningDaemons },
  };
}

/** Sandboxes (in the temp dir, or the given roots and dirs) whose owner process no longer runs. */
export async function findOrphanSandboxes(input: FindOrphansOptions = {}): Promise<OrphanSandbox[]> {
  const options = parseInput(findOptions, input, "findOrphans");
  const found: OrphanSandbox[] = [];
  for (const dir of await candidates(options)) {
    const entry = await orphanIn(dir);
    if (entry) found.push(entry.orphan);
  }
  return found;
}

/**
 * Reaps every orphan sandbox: ends its daemons, deletes the TAP devices its ovs-vswitchd made
 * (when this process is in, or can enter, the namespace it ran in) and removes its files. The
 * owner is checked again right before each reap.
 */
export async function reapOrphanSandboxes(input: FindOrphansOptions = {}): Promise<ReapedSandbox[]> {
  const options = parseInput(findOptions, input, "reapOrphans");
  const reaped: ReapedSandbox[] = [];
  for (const dir of await candidates(options)) {
    const entry = await orphanIn(dir);
    if (!entry) continue;
    const { marker } = entry;
    const daemons = [marker.daemons["ovs-vswitchd"], marker.daemons["ovsdb-server"]].filter(
      (pid): pid is number => pid !== undefined,
    );
    const report = await teardownSandbox({
      dir,
      ownsDir: marker.ownsDir,
      netns: marker.netns,
      netnsInode: marker.netnsInode,
      daemons,
    });
    reaped.push({ dir, ...report });
  }
  return reaped;
}
