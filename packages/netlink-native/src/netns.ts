// Named network namespaces, compatible with iproute2 (`ip netns`): the same directory, the same
// bind mounts. A namespace is referred to by name, by path, or by a process id.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { fromNative, NetlinkInputError } from "./errors.js";
import { native } from "./native.js";
import { check, netnsRef } from "./validate.js";

export const NETNS_RUN_DIR = "/run/netns";

/** A network namespace: a name under /run/netns, a path, or the netns of a process. */
export type NetnsRef = string | { name: string } | { path: string } | { pid: number };

const netnsName = z
  .string()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 bytes")
  .refine((s) => !s.includes("/") && s !== "." && s !== "..", "must not contain '/' or be '.'/'..'");

/** The filesystem path that names a namespace (what setns() opens). `field` names it in errors. */
export function netnsPath(ref: NetnsRef, field = "netns"): string {
  // The common forms, already valid, skip the schema (a setup resolves the same { path } in every
  // handle it opens): a path string, or an object holding only a non-empty path string.
  if (typeof ref === "string" && ref.startsWith("/")) return ref;
  if (isPathOnly(ref)) return (ref as { path: string }).path;
  // A plain name the schemas accept: the path join() would give, without the schemas or join().
  if (isPlainNetnsName(ref)) return `${NETNS_RUN_DIR}/${ref as string}`;
  check(netnsRef, ref, field);
  if (typeof ref === "string") return ref.startsWith("/") ? ref : join(NETNS_RUN_DIR, checkName(ref));
  if ("path" in ref) return ref.path;
  if ("pid" in ref) {
    if (!Number.isInteger(ref.pid) || ref.pid <= 0)
      throw new NetlinkInputError("netns.pid", "must be a positive integer");
    return `/proc/${ref.pid}/ns/net`;
  }
  return join(NETNS_RUN_DIR, checkName(ref.name));
}

/** `{ path }` with a non-empty path and nothing else: the form netnsPath() takes without the schema. */
export function isPathOnly(ref: unknown): boolean {
  if (typeof ref !== "object" || ref === null || Object.getPrototypeOf(ref) !== Object.prototype)
    return false;
  const keys = Object.keys(ref);
  const path = (ref as { path?: unknown }).path;
  return keys.length === 1 && keys[0] === "path" && typeof path === "string" && path.length > 0;
}

/** What netnsRef and netnsName accept as a name (join() leaves it as it is: no '/', '.' or '..'). */
function isPlainNetnsName(ref: unknown): boolean {
  return (
    typeof ref === "string" &&
    ref.length >= 1 &&
    ref.length <= 255 &&
    ref !== "." &&
    ref !== ".." &&
    !ref.includes("/")
  );
}

function checkName(name: string, field = "netns.name"): string {
  if (typeof name !== "string") throw new NetlinkInputError(field, "expected string");
  const r = netnsName.safeParse(name);
  if (!r.success) throw new NetlinkInputError(field, r.error.issues[0]?.message ?? "invalid");
  return name;
}

/**
 * Creates a named netns the way `ip netns add` does (on libuv's pool). A refusal is a NetnsError
 * with the errno code (EEXIST when it exists).
 */
export async function createNetns(name: string): Promise<{ name: string; path: string }> {
  const path = join(NETNS_RUN_DIR, checkName(name, "name"));
  try {
    await native().netnsCreate(NETNS_RUN_DIR, name);
  } catch (e) {
    throw fromNative(e, `create netns "${name}"`, path);
  }
  return { name, path };
}

/**
 * Removes a named netns (`ip netns del`), on libuv's pool. The namespace lives on while anything
 * holds it. A refusal is a NetnsError (ENOENT when there is no such name).
 */
export async function deleteNetns(name: string): Promise<void> {
  const path = join(NETNS_RUN_DIR, checkName(name, "name"));
  try {
    await native().netnsDelete(path);
  } catch (e) {
    throw fromNative(e, `delete netns "${name}"`, path);
  }
}

/** Names under /run/netns (what `ip netns list` shows). */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch {
    return [];
  }
}

/** Identity of a namespace: equal for two refs exactly when they name the same namespace. */
export function netnsIdentity(ref: NetnsRef): string {
  const path = netnsPath(ref);
  try {
    const { dev, ino } = native().netnsIdentity(path);
    return `${dev}:${ino}`;
  } catch (e) {
    throw fromNative(e, "netns identity", path);
  }
}

export function sameNetns(a: NetnsRef, b: NetnsRef): boolean {
  return netnsIdentity(a) === netnsIdentity(b);
}

/** The namespace of this process's calling thread. */
export const CURRENT_NETNS: NetnsRef = { path: "/proc/thread-self/ns/net" };
