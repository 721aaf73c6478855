// Installs the benchmark's peers with apt-get, OUTSIDE the network-less sandbox that
// `vmnet-isolate` makes (inside it apt cannot reach the mirrors). `pnpm bench` runs this first:
//   node bench/install-peers.mjs && vmnet-isolate node bench/run.mjs
// Already-installed packages are skipped, so a second run does nothing.
import { execFileSync, spawnSync } from "node:child_process";

export const PEER_PACKAGES = [
  "iproute2",
  "golang-go",
  "golang-github-vishvananda-netlink-dev",
  "python3-pyroute2",
];

function installed(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("ok installed");
}

const missing = PEER_PACKAGES.filter((p) => !installed(p));
if (missing.length === 0) {
  console.log(`bench peers present: ${PEER_PACKAGES.join(", ")}`);
} else {
  console.log(`installing bench peers: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args) => execFileSync("apt-get", args, { stdio: "inherit", env });
  try {
    apt(["install", "-y", "-q", "--no-install-recommends", ...missing]);
  } catch {
    // A fresh machine may have no package lists yet.
    apt(["update", "-q"]);
    apt(["install", "-y", "-q", "--no-install-recommends", ...missing]);
  }
}
