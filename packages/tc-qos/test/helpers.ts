// Shared by the kernel tests: tc (iproute2) as the peer that prints what the kernel holds.
import type { TestNetns } from "@vmnet/harness";
import { NetlinkError } from "@vmnet/netlink-native";

/** `tc -j ARGS` inside the namespace, parsed (tc prints nothing for an empty list). */
export async function tcJson<T = Record<string, unknown>>(netns: TestNetns, args: string[]): Promise<T[]> {
  const { stdout } = await netns.exec("tc", ["-j", ...args]);
  const text = String(stdout).trim();
  return text === "" ? [] : (JSON.parse(text) as T[]);
}

/** `tc ARGS` inside the namespace, as text (for the kinds tc 6.1 does not print as JSON). */
export async function tcText(netns: TestNetns, args: string[]): Promise<string> {
  const { stdout } = await netns.exec("tc", args);
  return String(stdout);
}

/** Runs shell commands (ip, tc) in the namespace, one line each. */
export async function sh(netns: TestNetns, ...lines: string[]): Promise<void> {
  for (const line of lines) await netns.exec("sh", ["-c", line]);
}

/** True when the kernel refused a qdisc kind because it lacks it (module not built or loadable). */
export function kindMissing(e: unknown): boolean {
  return (
    e instanceof NetlinkError &&
    (e.code === "ENOENT" || e.code === "EOPNOTSUPP") &&
    /unknown|not supported/i.test(e.message)
  );
}

export const strip = <T>(x: T): T =>
  JSON.parse(JSON.stringify(x, (k, v) => (k === "rawOptions" || k === "stats" ? undefined : v))) as T;
