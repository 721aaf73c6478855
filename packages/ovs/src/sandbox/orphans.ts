// Finding and reaping sandboxes whose owner process is gone (killed with SIGKILL, crashed): their
// daemons keep running detached, their directory and TAP devices stay. They are found by the
// marker file in their directory; only sandboxes whose owner (pid + start time) no longer runs
// are orphans, so a live owner's sandbox is never touched. A marker written in another pid
// namespace is judged by what can be seen from here (judge.ts): a namespace below ours by its
// processes, one that is gone by its sandbox's sockets that nobody serves any more.
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseInput } from "../errors.js";
import { judgeSandbox, STARTUP_GRACE_MS } from "./judge.js";
import { readMarker, type SandboxMarker } from "./marker.js";
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
    /**
     * A sandbox from a pid namespace we cannot see is judged only once its marker is this old
     * (default 10 s), so one that is still starting is not mistaken for a dead one.
     */
    startupGraceMs: z.number().int().nonnegative().optional(),
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
  /** Why it is an orphan (owner gone, or its whole pid namespace gone). */
  readonly why: string;
  /** Its daemons that still run (pids in this process's view). */
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

interface FoundOrphan {
  orphan: OrphanSandbox;
  marker: SandboxMarker;
  /** Running daemons by name, pids in our view. */
  daemons: Record<string, number>;
}

async function orphanIn(dir: string, graceMs: number): Promise<FoundOrphan | undefined> {
  const marker = await readMarker(dir);
  if (!marker) return undefined;
  const verdict = await judgeSandbox(dir, marker, graceMs);
  if (verdict.state !== "orphan") return undefined;
  const daemons: Record<string, number> = {};
  for (const [name, pid] of Object.entries(verdict.daemons))
    if (await isDaemonOf(pid, dir)) daemons[name] = pid;
  return {
    marker,
    daemons,
    orphan: {
      dir,
      mark: marker.mark,
      ownerPid: marker.pid,
      netns: marker.netns,
      why: verdict.why,
      runningDaemons: Object.values(daemons),
    },
  };
}

/** Daemons in the order they are ended: the database servers last (the others are their clients). */
export function daemonStopOrder(daemons: Readonly<Record<string, number>>): number[] {
  const names = Object.keys(daemons).sort(
    (a, b) => Number(a.startsWith("ovsdb-server")) - Number(b.startsWith("ovsdb-server")),
  );
  return names.map((name) => daemons[name] as number);
}

/** Sandboxes (in the temp dir, or the given roots and dirs) whose owner process no longer runs. */
export async function findOrphanSandboxes(input: FindOrphansOptions = {}): Promise<OrphanSandbox[]> {
  const options = parseInput(findOptions, input, "findOrphans");
  const found: OrphanSandbox[] = [];
  for (const dir of await candidates(options)) {
    const entry = await orphanIn(dir, options.startupGraceMs ?? STARTUP_GRACE_MS);
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
    const entry = await orphanIn(dir, options.startupGraceMs ?? STARTUP_GRACE_MS);
    if (!entry) continue;
    const { marker } = entry;
    const daemons = daemonStopOrder(entry.daemons);
    const report = await teardownSandbox({
      dir,
      ownsDir: marker.ownsDir,
      netns: marker.netns,
      netnsInode: marker.netnsInode,
      daemons,
      devices: marker.role !== "ovn-central",
    });
    reaped.push({ dir, ...report });
  }
  return reaped;
}
