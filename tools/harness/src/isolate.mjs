// How to re-run a command inside private namespaces. Kept separate from the bin so it can be
// tested and reused (e.g. by scripts that need the same isolation).
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const innerScript = fileURLToPath(new URL("./isolate-inner.sh", import.meta.url));

// --pid --fork --kill-child: detached daemons die with the run; --mount-proc: /proc matches the
// new pid namespace, so pidfiles and /proc agree. --propagation private: mounts stay inside.
const NAMESPACE_FLAGS = [
  "--net",
  "--mount",
  "--pid",
  "--fork",
  "--kill-child",
  "--mount-proc",
  "--propagation",
  "private",
];

/**
 * The identity of one of a process's namespaces ("net", "mnt", "pid"): device and inode of its
 * /proc/<pid>/ns entry, which is the same for every process in that namespace and differs between
 * namespaces. Undefined where /proc cannot tell.
 * @param {string} kind
 * @param {string | number} [pid]
 * @returns {string | undefined}
 */
export function namespaceIdentity(kind, pid = "self") {
  try {
    const st = statSync(`/proc/${pid}/ns/${kind}`);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The starter's namespaces, captured BEFORE isolating and handed to the command, so that tests
 * can prove they run elsewhere. Inside the new pid namespace /proc/1 is the namespace's own init,
 * so the host's identity cannot be read from there afterwards.
 * @returns {Record<string, string>}
 */
function starterNamespaces() {
  /** @type {Record<string, string>} */
  const env = {};
  for (const [kind, key] of [
    ["net", "VMNET_HOST_NETNS"],
    ["mnt", "VMNET_HOST_MNTNS"],
    ["pid", "VMNET_HOST_PIDNS"],
  ]) {
    const id = namespaceIdentity(kind);
    if (id) env[key] = id;
  }
  return env;
}

function works(args) {
  const r = spawnSync("unshare", [...args, "--", "true"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}

/**
 * @param {string[]} command
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ file: string, args: string[], env: NodeJS.ProcessEnv, notice?: string }}
 */
export function isolationPlan(command, env) {
  const [file, ...args] = command;
  if (env.VMNET_ISOLATED === "1" || env.VMNET_UNPRIVILEGED === "1") {
    return { file, args, env };
  }
  const inner = { ...env, ...starterNamespaces(), VMNET_ISOLATED: "1" };
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && works(NAMESPACE_FLAGS)) {
    return { file: "unshare", args: [...NAMESPACE_FLAGS, "--", "sh", innerScript, ...command], env: inner };
  }
  // Inside a chroot whose root is not a mount point, unshare cannot make "/" private. The inner
  // script then makes what it can private itself; the mounts it adds are new, so they stay in
  // the new mount namespace unless the enclosing one shares them (a chroot set up by a tool such
  // as fresh-run is already private).
  const chrootFlags = NAMESPACE_FLAGS.map((f) => (f === "private" ? "unchanged" : f));
  if (isRoot && works(chrootFlags)) {
    return { file: "unshare", args: [...chrootFlags, "--", "sh", innerScript, ...command], env: inner };
  }
  const userFlags = ["--user", "--map-root-user", ...NAMESPACE_FLAGS];
  if (works(userFlags)) {
    return {
      file: "unshare",
      args: [...userFlags, "--", "sh", innerScript, ...command],
      env: { ...inner, VMNET_USERNS: "1" },
      notice: "not root: running inside a user namespace (--user --map-root-user)",
    };
  }
  const reason = isRoot
    ? "unshare --net --mount --pid failed (no namespace support?)"
    : "not root and user namespaces are refused by this kernel";
  return {
    file,
    args,
    env: { ...env, VMNET_UNPRIVILEGED: "1", VMNET_SKIP_REASON: reason },
    notice: `${reason}: privileged tests will be skipped`,
  };
}
