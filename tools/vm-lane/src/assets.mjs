// What a test guest boots: Debian's kernel (its modules unpacked beside it, not installed) and an
// initramfs holding busybox, our init and the few modules needed before the host's root is
// mounted. Everything comes from Debian packages fetched with `apt-get download`, so nothing
// binary lives in the repository. Fetching needs the network: call prepare() before entering the
// test sandbox (scripts/setup.sh does).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCpio } from "./cpio.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const guestDir = join(here, "..", "guest");

/** Modules the guest needs before it can see the host: virtio-pci, the NIC, 9p, overlayfs. */
const EARLY_MODULES = ["virtio_pci", "virtio_net", "9pnet_virtio", "9p", "overlay"];

export function cacheDir() {
  return process.env.VMNET_VM_CACHE || "/var/cache/vmnet-vm";
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
}

/** The versioned kernel package the `linux-image-amd64` metapackage points at. */
function kernelPackage() {
  const ask = () => {
    try {
      return run("apt-cache", ["depends", "linux-image-amd64"]);
    } catch {
      return "";
    }
  };
  let out = ask();
  if (!/linux-image-\d/.test(out)) {
    run("apt-get", ["update", "-q"]);
    out = ask();
  }
  const m = /Depends:\s+(linux-image-[0-9][^\s]*-amd64)/.exec(out);
  if (!m) throw new Error("vm-lane: cannot find Debian's linux-image-amd64 kernel package");
  return m[1];
}

function download(pkg, dir) {
  const before = new Set(readdirSync(dir));
  // _apt cannot write to a root-owned cache: download as root into the directory.
  run("apt-get", ["download", "-q", pkg], { cwd: dir });
  const deb = readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".deb"));
  if (!deb) throw new Error(`vm-lane: apt-get download ${pkg} produced no .deb`);
  return join(dir, deb);
}

function unpack(deb, into) {
  const tmp = `${into}.partial`;
  run("rm", ["-rf", tmp]);
  mkdirSync(tmp, { recursive: true });
  run("dpkg-deb", ["-x", deb, tmp]);
  run("rm", ["-rf", into]);
  renameSync(tmp, into);
}

/**
 * Makes sure the kernel, its modules and the initramfs are in the cache; returns their paths.
 * Idempotent and quick when everything is there.
 */
export function prepare({ log = () => {} } = {}) {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(dir, "manifest.json");
  const initSource = readFileSync(join(guestDir, "init"));
  const scriptSource = readFileSync(join(guestDir, "udhcpc.script"));
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, "utf8"));
    const fresh =
      existsSync(m.kernel) && existsSync(m.initrd) && m.guestHash === hashOf(initSource, scriptSource);
    if (fresh) return m;
  }
  const pkg = kernelPackage();
  const kernelRoot = join(dir, pkg);
  if (!existsSync(join(kernelRoot, "boot"))) {
    log(`downloading ${pkg}`);
    const deb = download(pkg, dir);
    unpack(deb, kernelRoot);
    run("rm", ["-f", deb]);
  }
  const kv = readdirSync(join(kernelRoot, "lib", "modules"))[0];
  if (!existsSync(join(kernelRoot, "lib", "modules", kv, "modules.dep"))) {
    run("depmod", ["-b", kernelRoot, kv]);
  }
  const busyboxRoot = join(dir, "busybox-static");
  if (!existsSync(join(busyboxRoot, "bin", "busybox"))) {
    log("downloading busybox-static");
    const deb = download("busybox-static", dir);
    unpack(deb, busyboxRoot);
    run("rm", ["-f", deb]);
  }
  // Early modules in dependency order (modprobe prints each module's dependencies first).
  const order = [];
  for (const mod of EARLY_MODULES) {
    const lines = run("modprobe", ["-d", kernelRoot, "-S", kv, "--show-depends", mod]).split("\n");
    for (const line of lines) {
      const m = /^insmod\s+(\S+)/.exec(line);
      if (m && !order.includes(m[1])) order.push(m[1]);
    }
  }
  const entries = [
    ...["bin", "dev", "proc", "sys", "etc", "modules", "host", "over", "newroot"].map((d) => ({
      path: d,
      type: "dir",
    })),
    {
      path: "bin/busybox",
      type: "file",
      mode: 0o755,
      data: readFileSync(join(busyboxRoot, "bin", "busybox")),
    },
    { path: "bin/sh", type: "symlink", target: "busybox" },
    { path: "init", type: "file", mode: 0o755, data: initSource },
    { path: "udhcpc.script", type: "file", mode: 0o755, data: scriptSource },
    { path: "modules.order", type: "file", data: Buffer.from(order.map((p) => basename(p)).join("\n")) },
    ...order.map((p) => ({ path: `modules/${basename(p)}`, type: "file", data: readFileSync(p) })),
  ];
  const initrd = join(dir, "initramfs.cpio");
  writeFileSync(`${initrd}.tmp`, buildCpio(entries));
  renameSync(`${initrd}.tmp`, initrd);
  const manifest = {
    kernel: join(kernelRoot, "boot", `vmlinuz-${kv}`),
    initrd,
    kernelVersion: kv,
    modulesRoot: kernelRoot,
    guestHash: hashOf(initSource, scriptSource),
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function hashOf(...bufs) {
  let h = 2166136261;
  for (const b of bufs) for (const byte of b) h = Math.imul(h ^ byte, 16777619) >>> 0;
  return h.toString(16);
}

/** True when prepare() has run on this machine (tests inside the network-less sandbox check it). */
export function guestReady() {
  try {
    const m = JSON.parse(readFileSync(join(cacheDir(), "manifest.json"), "utf8"));
    return existsSync(m.kernel) && existsSync(m.initrd);
  } catch {
    return false;
  }
}
