// Boots a test guest under qemu (software emulation, pc machine) and reads its serial
// console. The guest prints VMNET-* marker lines and powers off; the host never waits on a timer
// except the overall deadline.
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { prepare } from "./assets.mjs";

/**
 * options:
 *   mode: "dhcp" | "static" | "lane"
 *   tapFd: an open TAP fd to hand to qemu as the guest's eth0
 *   tapName, netns: or an existing persistent TAP that qemu opens by name, run in that netns
 *   address: the guest's CIDR (static mode)
 *   mac: the guest NIC's MAC (default qemu's)
 *   ping: addresses the guest pings after its lease (dhcp mode)
 *   run: host path of a shell script the guest runs in the host's root (lane mode)
 *   outDir: host directory the guest can write to at /vmnet-out (lane mode)
 *   memoryMb, timeoutMs, onLine
 * Resolves { exitCode, lines, markers } where markers maps a marker name to its lines' rest.
 */
export async function bootGuest(options) {
  const assets = prepare();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const append = [
    "console=ttyS0",
    "quiet",
    "loglevel=3",
    "panic=-1",
    "reboot=t",
    "random.trust_cpu=on",
    `vmnet.mode=${options.mode}`,
  ];
  if (options.ping?.length) append.push(`vmnet.ping=${options.ping.join(",")}`);
  if (options.address) append.push(`vmnet.addr=${options.address}`);
  if (options.run) append.push(`vmnet.run=${options.run}`, `vmnet.modules=${assets.modulesRoot}`);
  const args = [
    // The pc machine, not microvm: under software emulation on a loaded host microvm's kernel
    // hangs calibrating its clock (no PIT/HPET reference); pc has an HPET.
    "-M",
    "pc",
    "-accel",
    "tcg",
    "-cpu",
    "max",
    "-m",
    String(options.memoryMb ?? 1024),
    "-smp",
    "1",
    "-nodefaults",
    "-no-user-config",
    "-nographic",
    "-no-reboot",
    "-serial",
    "stdio",
    "-kernel",
    assets.kernel,
    "-initrd",
    assets.initrd,
    "-append",
    append.join(" "),
  ];
  const stdio = ["ignore", "pipe", "pipe"];
  const nic = `virtio-net-pci,netdev=n0${options.mac ? `,mac=${options.mac}` : ""}`;
  if (options.tapFd !== undefined) {
    stdio.push(options.tapFd);
    // qemu reads IFF_VNET_HDR from the fd itself (vnet_hdr= is refused together with fd=).
    args.push("-netdev", "tap,id=n0,fd=3", "-device", nic);
  } else if (options.tapName) {
    // An existing (persistent) TAP, opened by qemu by name in `netns`.
    args.push("-netdev", `tap,id=n0,ifname=${options.tapName},script=no,downscript=no`, "-device", nic);
  }
  if (options.mode === "lane") {
    args.push(
      "-fsdev", // multidevs=remap: host mounts (/proc, /sys, ...) share inode numbers; without a remap the
      // guest conflates their directories and mounts land on the wrong one.
      "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
    );
    args.push("-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot");
    if (options.outDir) {
      args.push("-fsdev", `local,id=out,path=${options.outDir},security_model=none`);
      args.push("-device", "virtio-9p-pci,fsdev=out,mount_tag=out");
    }
  }
  const command = options.netns
    ? ["ip", ["netns", "exec", options.netns, "qemu-system-x86_64", ...args]]
    : ["qemu-system-x86_64", args];
  const child = spawn(command[0], command[1], { stdio });
  const lines = [];
  let buffered = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      options.onLine?.(line);
      nl = buffered.indexOf("\n");
    }
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise((resolve) => child.on("close", (c, sig) => resolve(c ?? sig)));
  clearTimeout(timer);
  if (buffered) lines.push(buffered);
  const markers = new Map();
  let exitCode;
  for (const line of lines) {
    // Programs in the guest may leave terminal escapes before a marker on its line.
    const m = /VMNET-([A-Z]+)\s?(.*)$/.exec(stripVTControlCharacters(line).trim());
    if (!m) continue;
    if (!markers.has(m[1])) markers.set(m[1], []);
    markers.get(m[1]).push(m[2]);
    if (m[1] === "EXIT") exitCode = Number(m[2]);
  }
  if (exitCode === undefined) {
    const tail = lines.slice(-30).join("\n");
    throw new Error(
      `guest did not finish (qemu exit ${code}, ${timeoutMs} ms budget): ${stderr.trim()}\n${tail}`,
    );
  }
  return { exitCode, lines, markers, qemuExit: code };
}
