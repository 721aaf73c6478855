// Taking a sandbox down, the same way for stop() and for reaping an orphan: end its two daemons,
// delete the TAP devices its ovs-vswitchd made, remove its files. Each part checks ownership
// first (daemons by pid + directory, devices by the sandbox's own database and device kind,
// the namespace by inode) so that nothing foreign is ever touched.
import { readdir, readlink, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { MARKER_FILE, netnsInode } from "./marker.js";
import { isRunning, terminateDaemon } from "./processes.js";
import { DATAPATH_DEVICE, deleteTaps, internalInterfaceNames } from "./taps.js";

/** The files a sandbox makes in its directory (removed one by one when the caller owns the directory). */
export const SANDBOX_FILES = [
  "conf.db",
  ".conf.db.~lock~",
  "db.sock",
  "ovsdb-server.pid",
  "ovs-vswitchd.pid",
  "ovsdb-server.ctl",
  "ovs-vswitchd.ctl",
  "ovsdb-server.log",
  "ovs-vswitchd.log",
  MARKER_FILE,
  `${MARKER_FILE}.tmp`,
];

export interface TeardownTarget {
  readonly dir: string;
  readonly ownsDir: boolean;
  readonly netns: string | undefined;
  /** Inode of the daemons' namespace when the sandbox started (0 when unknown). */
  readonly netnsInode: number;
  /** Daemon pids, ovs-vswitchd first. */
  readonly daemons: readonly number[];
  /** False for a directory whose daemons make no devices (an OVN control plane). */
  readonly devices?: boolean;
}

export interface TeardownReport {
  /** Pids of the daemons that were still running and were ended. */
  readonly stoppedPids: number[];
  /** TAP devices deleted. */
  readonly deletedDevices: string[];
  /** Why devices were left alone, when they were. */
  readonly devicesSkipped?: string;
}

/** True when an ovs-vswitchd other than `except` still runs in the namespace with this inode. */
async function otherVswitchdIn(inode: number, except: readonly number[]): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || except.includes(pid)) continue;
    try {
      const comm = (await readlink(`/proc/${pid}/exe`).catch(() => "")).split("/").pop();
      if (comm !== "ovs-vswitchd" || !(await isRunning(pid))) continue;
      if ((await stat(`/proc/${pid}/ns/net`)).ino === inode) return true;
    } catch {}
  }
  return false;
}

export async function teardownSandbox(target: TeardownTarget, timeoutMs = 10_000): Promise<TeardownReport> {
  const stoppedPids: number[] = [];
  for (const pid of target.daemons)
    if (await terminateDaemon(pid, target.dir, timeoutMs)) stoppedPids.push(pid);

  let deletedDevices: string[] = [];
  let devicesSkipped: string | undefined;
  const inode = netnsInode(target.netns);
  if (target.devices === false) {
    devicesSkipped = "its daemons make no devices";
  } else if (target.netnsInode === 0 || inode !== target.netnsInode) {
    devicesSkipped =
      target.netns === undefined
        ? "the sandbox ran in another network namespace than this process"
        : `network namespace ${target.netns} is gone or is not the one the sandbox ran in`;
  } else {
    const names = await internalInterfaceNames(target.dir);
    // ovs-netdev is shared by every userspace-datapath ovs-vswitchd of a namespace.
    if (!(await otherVswitchdIn(inode, target.daemons))) names.push(DATAPATH_DEVICE);
    deletedDevices = await deleteTaps(target.netns, names);
  }

  if (target.ownsDir) await rm(target.dir, { recursive: true, force: true });
  else await Promise.all(SANDBOX_FILES.map((f) => rm(join(target.dir, f), { force: true })));
  return { stoppedPids, deletedDevices, ...(devicesSkipped ? { devicesSkipped } : {}) };
}
