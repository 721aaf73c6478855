// Test helpers shared by every vmnet package: per-test named network namespaces, privilege
// checks that skip with a printed reason (never silently), and required-tool checks that name the
// Debian package to install.

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { namespaceIdentity } from "./isolate.mjs";

export { namespaceIdentity };

/**
 * The identity of the starter's network namespace, captured by vmnet-isolate before it
 * isolated (VMNET_HOST_NETNS), or undefined when this process was not started by it.
 */
export function hostNetnsIdentity() {
  return process.env.VMNET_HOST_NETNS || undefined;
}

/** Why this process is not proven to be isolated from the starter's network, or undefined. */
function isolationGap() {
  if (process.env.VMNET_ISOLATED !== "1") {
    return "not inside vmnet-isolate (run the package's `pnpm test`, which isolates itself)";
  }
  const host = hostNetnsIdentity();
  if (!host) return "VMNET_ISOLATED=1 but vmnet-isolate's VMNET_HOST_NETNS is missing: isolation unproven";
  const own = namespaceIdentity("net");
  if (own === host) return "VMNET_ISOLATED=1 but this process is in the starter's network namespace";
  return undefined;
}

/**
 * True when the suite runs inside the private namespaces made by vmnet-isolate: it says so
 * (VMNET_ISOLATED=1) AND its network namespace is not the one vmnet-isolate was started in.
 */
export const isolated = isolationGap() === undefined;

/** Why privileged tests cannot run here, or undefined when they can. */
export function privilegeGap() {
  if (process.env.VMNET_UNPRIVILEGED === "1") {
    return process.env.VMNET_SKIP_REASON ?? "no privileges for network namespaces";
  }
  return isolationGap();
}

const announced = new Set();
/** Prints one line saying why a group of tests is skipped; returns true when they must skip. */
export function skipBecause(what, reason) {
  if (!reason) return false;
  const line = `SKIP ${what}: ${reason}`;
  if (!announced.has(line)) {
    announced.add(line);
    console.log(line);
  }
  return true;
}

/** Returns the absolute path of a program on PATH, or undefined. */
export function which(program) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/lib/cni"]) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Throws an error naming the Debian package when a program the test needs is missing. */
export function requireProgram(program, debianPackage) {
  const path = which(program);
  if (!path) {
    throw new Error(
      `${program} is not installed: apt-get install ${debianPackage} (scripts/setup.sh does this)`,
    );
  }
  return path;
}

let counter = 0;
/** A netns name unique per process and vitest worker. */
export function uniqueName(prefix = "vt") {
  counter += 1;
  const pool = process.env.VITEST_POOL_ID ?? "0";
  return `${prefix}${pool}-${process.pid}-${counter}`;
}

/**
 * Creates a named network namespace the way iproute2 does (`ip netns add`), with loopback up.
 * Refuses to run outside vmnet-isolate so tests never leave objects on the host.
 */
export async function createNetns(prefix = "vt") {
  const gap = privilegeGap();
  if (gap) throw new Error(`cannot create a test netns: ${gap}`);
  const name = uniqueName(prefix);
  await execa("ip", ["netns", "add", name]);
  const ns = {
    name,
    path: `/run/netns/${name}`,
    /** Runs a program inside the namespace (`ip netns exec`). */
    exec(file, args = [], options = {}) {
      return execa("ip", ["netns", "exec", name, file, ...args], options);
    },
    /** `ip -j ...` inside the namespace, parsed. */
    async ipJson(args) {
      const { stdout } = await execa("ip", ["-n", name, "-j", ...args]);
      return stdout.trim() === "" ? [] : JSON.parse(stdout);
    },
    async remove() {
      await execa("ip", ["netns", "del", name], { reject: false });
    },
  };
  try {
    await ns.exec("ip", ["link", "set", "lo", "up"]);
  } catch (error) {
    await ns.remove();
    throw error;
  }
  return ns;
}

/** Runs fn with a fresh namespace and removes it afterwards, also when fn throws. */
export async function withNetns(fn, prefix) {
  const ns = await createNetns(prefix);
  try {
    return await fn(ns);
  } finally {
    await ns.remove();
  }
}
