// Whether a sandbox's owner still runs, judged from this process's view. A pid in a marker means
// something only in the pid namespace it was written in:
// - our own namespace: the owner is that pid with that start time;
// - a namespace below ours: its processes are visible here under other pids (NSpid maps them), so
//   the owner is looked up by its inner pid and start time, and the daemons' pids are mapped;
// - a namespace we cannot see (gone, or beside or above ours): when nothing in it is visible, the
//   sandbox's own unix sockets decide. Its ovsdb-server serves them while it runs, wherever it runs;
//   when none accepts a connection, the daemons died (with their namespace, typically: the owner's
//   whole pid namespace was killed) and only the directory and devices are left. A sandbox younger
//   than the start-up grace is left alone, since its sockets may not exist yet.

import { readdir, stat } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { MARKER_FILE, pidnsInode, type SandboxMarker } from "./marker.js";
import { isProcessAlive, processesInPidns } from "./processes.js";

export type SandboxVerdict =
  | { readonly state: "alive"; readonly why: string }
  | { readonly state: "unknown"; readonly why: string }
  | {
      readonly state: "orphan";
      readonly why: string;
      /** The daemons' pids in our view (those we can see). */
      readonly daemons: Readonly<Record<string, number>>;
    };

/** Default time a sandbox in an unseen pid namespace is given to open its sockets. */
export const STARTUP_GRACE_MS = 10_000;

function accepts(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // a server too busy to accept still runs
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function anySocketServed(dir: string): Promise<boolean> {
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (!entry.endsWith(".sock") && !entry.endsWith(".ctl")) continue;
    const info = await stat(join(dir, entry)).catch(() => undefined);
    if (info?.isSocket() && (await accepts(join(dir, entry)))) return true;
  }
  return false;
}

export async function judgeSandbox(
  dir: string,
  marker: SandboxMarker,
  startupGraceMs: number = STARTUP_GRACE_MS,
): Promise<SandboxVerdict> {
  if (marker.pidnsInode !== 0 && marker.pidnsInode === pidnsInode()) {
    if (isProcessAlive(marker.pid, marker.start)) return { state: "alive", why: "owner runs" };
    return { state: "orphan", why: "owner is gone", daemons: { ...marker.daemons } };
  }
  if (marker.pidnsInode === 0) return { state: "unknown", why: "owner's pid namespace unknown" };
  const inNamespace = await processesInPidns(marker.pidnsInode);
  if (inNamespace.length > 0) {
    const owner = inNamespace.find((p) => p.innerPid === marker.pid && p.start === marker.start);
    if (owner) return { state: "alive", why: `owner runs (pid ${owner.pid} here)` };
    const daemons: Record<string, number> = {};
    for (const [name, inner] of Object.entries(marker.daemons)) {
      const seen = inNamespace.find((p) => p.innerPid === inner);
      if (seen) daemons[name] = seen.pid;
    }
    return { state: "orphan", why: "owner is gone from its pid namespace", daemons };
  }
  const markerInfo = await stat(join(dir, MARKER_FILE)).catch(() => undefined);
  if (!markerInfo || Date.now() - markerInfo.mtimeMs < startupGraceMs)
    return { state: "unknown", why: "sandbox in an unseen pid namespace is still starting" };
  if (await anySocketServed(dir))
    return {
      state: "unknown",
      why: "its daemons still serve its sockets from a pid namespace we cannot see",
    };
  return {
    state: "orphan",
    why: "its pid namespace is gone (nothing in it runs, nobody serves its sockets)",
    daemons: {},
  };
}
