// The mark a sandbox leaves in its directory: who owns it (pid and start time of the Node process
// that started it), where its daemons run (the network namespace, by name or path, and that
// namespace's inode, so a reaper never acts in a different namespace that reuses the name) and
// which daemons it started. A sandbox whose owner is gone is an orphan and may be reaped; one
// whose owner runs is never touched.
import { statSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { processStartTicks } from "./processes.js";

export const MARKER_FILE = "vmnet-sandbox.json";

const markerSchema = z
  .object({
    /** The shared vmnet ownership mark, `vmnet:1 owner=<owner> pid=<pid>@<start> role=ovs-sandbox`. */
    mark: z.string(),
    owner: z.string(),
    pid: z.number().int().positive(),
    start: z.number().int().nonnegative(),
    /**
     * Inode of the owner's pid namespace: a pid means something only there, so a sandbox marked
     * from another pid namespace is never judged (nor reaped) from this one.
     */
    pidnsInode: z.number().int().nonnegative(),
    /** The netns given to start() (a name or a path), absent for the owner's own namespace. */
    netns: z.string().optional(),
    /** Inode of the daemons' network namespace when the sandbox started. */
    netnsInode: z.number().int().nonnegative(),
    /** True when start() made the directory (reaping removes it); false for a caller's directory. */
    ownsDir: z.boolean(),
    daemons: z.record(z.string(), z.number().int().positive()),
    /** What the directory holds: an OVS sandbox (default) or an OVN control plane (no devices). */
    role: z.enum(["ovs-sandbox", "ovn-central"]).optional(),
  })
  .strict();
export type SandboxMarker = z.infer<typeof markerSchema>;

/** Inode of this process's pid namespace (0 when unknown). */
export function pidnsInode(): number {
  try {
    return statSync("/proc/self/ns/pid").ino;
  } catch {
    return 0;
  }
}

/** Inode of a network namespace: a name under /run/netns, a path, or (undefined) this process's own. */
export function netnsInode(netns: string | undefined): number | undefined {
  const path =
    netns === undefined ? "/proc/self/ns/net" : netns.startsWith("/") ? netns : `/run/netns/${netns}`;
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

export function markerForThisProcess(
  owner: string,
  netns: string | undefined,
  ownsDir: boolean,
  role: "ovs-sandbox" | "ovn-central" = "ovs-sandbox",
): SandboxMarker {
  const start = processStartTicks(process.pid) ?? 0;
  return {
    mark: `vmnet:1 owner=${owner} pid=${process.pid}@${start} role=${role}`,
    owner,
    pid: process.pid,
    start,
    pidnsInode: pidnsInode(),
    ...(netns !== undefined ? { netns } : {}),
    netnsInode: netnsInode(netns) ?? 0,
    ownsDir,
    daemons: {},
    ...(role !== "ovs-sandbox" ? { role } : {}),
  };
}

/** Writes the marker atomically (a reader never sees half a file). */
export async function writeMarker(dir: string, marker: SandboxMarker): Promise<void> {
  const path = join(dir, MARKER_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(marker)}\n`);
  await rename(`${path}.tmp`, path);
}

/** The marker in `dir`, or undefined when there is none or it is not ours (a foreign file). */
export async function readMarker(dir: string): Promise<SandboxMarker | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MARKER_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const result = markerSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
