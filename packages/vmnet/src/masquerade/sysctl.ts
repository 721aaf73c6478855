// Sysctls of another network namespace. /proc/sys/net shows the netns of the process that opens
// it, and the kernel has no netlink request for IPv6 per-device settings, so one short-lived
// `nsenter --net=<netns> sh` reads or writes a whole set at once (one process per set, never one
// per key). Keys are /proc/sys paths relative to /proc/sys ("net/ipv6/conf/all/forwarding"), so
// interface names with dots need no escaping.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { VmnetError } from "../errors.js";

const run = promisify(execFile);
const KEY = /^net\/[A-Za-z0-9_./-]+$/;

function checkKeys(keys: readonly string[]): void {
  for (const k of keys)
    if (!KEY.test(k) || k.includes("..")) throw new VmnetError(`not a net sysctl key: ${k}`);
}

/** Reads each key (missing keys are left out: the link or the protocol is not there). */
export async function readSysctls(
  netnsPath: string,
  keys: readonly string[],
): Promise<Record<string, string>> {
  checkKeys(keys);
  if (keys.length === 0) return {};
  // One line per key: "key<TAB>value", or nothing when the file does not exist.
  const script =
    'for k in "$@"; do [ -e "/proc/sys/$k" ] && printf "%s\\t%s\\n" "$k" "$(cat "/proc/sys/$k")"; done; exit 0';
  const { stdout } = await run("nsenter", [`--net=${netnsPath}`, "--", "sh", "-c", script, "sh", ...keys]);
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab > 0) out[line.slice(0, tab)] = line.slice(tab + 1).trim();
  }
  return out;
}

/** Writes the keys in the order given (order matters: an "all" key resets every device's). */
export async function writeSysctls(netnsPath: string, values: readonly [string, string][]): Promise<void> {
  checkKeys(values.map(([k]) => k));
  if (values.length === 0) return;
  const script =
    'while [ $# -gt 0 ]; do printf "%s\\n" "$2" > "/proc/sys/$1" || { echo "cannot write $1=$2" >&2; exit 1; }; shift 2; done';
  try {
    await run("nsenter", [`--net=${netnsPath}`, "--", "sh", "-c", script, "sh", ...values.flat()]);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new VmnetError(`sysctl in ${netnsPath}: ${stderr || (e as Error).message}`);
  }
}
