// Installs the container-side benchmark's peers BEFORE `pnpm bench` enters the network-less
// sandbox: Debian's python3-pyroute2, ebtables, iproute2 and the CNI plugins.
import { spawnSync } from "node:child_process";

const wanted = ["python3-pyroute2", "ebtables", "iproute2", "containernetworking-plugins", "nftables"];
const missing = wanted.filter(
  (p) =>
    !spawnSync("dpkg-query", ["-W", "-f=$" + "{Status}", p], { encoding: "utf8" }).stdout.includes(
      "ok installed",
    ),
);
if (missing.length > 0) {
  console.log(`installing ${missing.join(" ")}`);
  const r = spawnSync("apt-get", ["install", "-y", ...missing], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
