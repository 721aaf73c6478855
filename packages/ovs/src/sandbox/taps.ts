// The kernel devices a sandbox's ovs-vswitchd leaves behind. With the userspace datapath it makes
// persistent TAP devices (one per internal interface, bridges' own ports included, and
// "ovs-netdev" for the datapath) and does not remove them when it exits. After the daemons are
// gone, the sandbox's database says which names were its internal interfaces; only those names
// (and ovs-netdev), and only when the device is a TAP, are deleted: never a foreign device.
import { join } from "node:path";
import { execa } from "execa";
import { z } from "zod";
import { OvsCommandError } from "../errors.js";
import { findProgram } from "../programs.js";

/** The datapath's own device in the userspace datapath. */
export const DATAPATH_DEVICE = "ovs-netdev";

const queryReply = z.array(z.object({ rows: z.array(z.object({ name: z.string() }).loose()) }).loose());

/**
 * Names of the internal interfaces recorded in a sandbox's database file. Read with ovsdb-tool,
 * which needs no server (the daemons are already gone when this runs).
 */
export async function internalInterfaceNames(dir: string): Promise<string[]> {
  const query = JSON.stringify([
    "Open_vSwitch",
    { op: "select", table: "Interface", where: [["type", "==", "internal"]], columns: ["name"] },
  ]);
  const result = await execa(findProgram("ovsdb-tool"), ["query", join(dir, "conf.db"), query], {
    reject: false,
    stdin: "ignore",
  });
  if (result.exitCode !== 0) return [];
  try {
    const parsed = queryReply.safeParse(JSON.parse(String(result.stdout)));
    return parsed.success ? (parsed.data[0]?.rows ?? []).map((row) => row.name) : [];
  } catch {
    return [];
  }
}

/** `ip` run in a network namespace (a name, a path, or undefined for this process's own). */
function ipCommand(netns: string | undefined, args: string[]): [string, string[]] {
  const ip = findProgram("ip");
  if (netns === undefined) return [ip, args];
  if (netns.startsWith("/")) return [findProgram("nsenter"), [`--net=${netns}`, "--", ip, ...args]];
  return [ip, ["-n", netns, ...args]];
}

const linkList = z.array(
  z
    .object({
      ifname: z.string(),
      linkinfo: z.object({ info_kind: z.string().optional() }).loose().optional(),
    })
    .loose(),
);

/**
 * Deletes the TAP devices among `names` in `netns`; returns the names deleted. Devices that do not
 * exist or are not TAPs are left alone.
 */
export async function deleteTaps(netns: string | undefined, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const [command, args] = ipCommand(netns, ["-d", "-j", "link", "show"]);
  const listed = await execa(command, args, { reject: false, stdin: "ignore" });
  if (listed.exitCode !== 0) throw new OvsCommandError(command, args, listed.exitCode, String(listed.stderr));
  const parsed = linkList.safeParse(JSON.parse(String(listed.stdout) || "[]"));
  if (!parsed.success) return [];
  const wanted = new Set(names);
  const taps = parsed.data
    .filter((link) => wanted.has(link.ifname) && link.linkinfo?.info_kind === "tun")
    .map((link) => link.ifname);
  if (taps.length === 0) return [];
  const [batchCommand, batchArgs] = ipCommand(netns, ["-batch", "-"]);
  const deleted = await execa(batchCommand, batchArgs, {
    reject: false,
    input: `${taps.map((name) => `link del dev ${name}`).join("\n")}\n`,
  });
  if (deleted.exitCode !== 0)
    throw new OvsCommandError(batchCommand, batchArgs, deleted.exitCode, String(deleted.stderr));
  return taps;
}
