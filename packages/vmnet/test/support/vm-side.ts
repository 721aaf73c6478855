// The VM side of a container-side network, without a VM: a "VM" netns holding a veth pair (the
// guest's eth0 and the relay's end), and a relay process moving frames between the TAP fd and the
// relay's end (vm-side-relay.py). Real DHCP clients then run on the guest's eth0.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { execa } from "execa";

const RELAY = fileURLToPath(new URL("./vm-side-relay.py", import.meta.url));

export interface VmSide {
  vm: TestNetns;
  /** The guest's NIC in the VM netns. */
  iface: string;
  stop(): Promise<void>;
}

/**
 * Starts a relay for `tapFd` into a fresh VM netns whose eth0 has `mac`. IPv6 is off (no noise)
 * unless `ipv6` is asked for (then the guest's eth0 does SLAAC/DAD like a VM would; the relay's
 * end stays silent).
 */
export async function startVmSide(
  tapFd: number,
  mac: string,
  options: { ipv6?: boolean } = {},
): Promise<VmSide> {
  requireProgram("python3", "python3");
  const vm = await createNetns("csnvm");
  const iface = "eth0";
  let relay: ChildProcess | undefined;
  try {
    const ip = (args: string[]) => execa("ip", ["-n", vm.name, ...args]);
    await ip(["link", "add", iface, "mtu", "9000", "type", "veth", "peer", "name", "relay0", "mtu", "9000"]);
    await ip(["link", "set", iface, "address", mac]);
    for (const dev of [iface, "relay0"]) {
      const off = dev === "relay0" || !options.ipv6 ? 1 : 0;
      await execa("ip", [
        "netns",
        "exec",
        vm.name,
        "sysctl",
        "-qw",
        `net.ipv6.conf.${dev}.disable_ipv6=${off}`,
      ]);
      await ip(["link", "set", dev, "up"]);
    }
    await ip(["link", "set", "lo", "up"]);
    relay = spawn("ip", ["netns", "exec", vm.name, "python3", RELAY, "relay0"], {
      stdio: ["ignore", "pipe", "inherit", tapFd],
    });
    const started = relay;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.once("data", () => resolve());
      started.once("exit", (code) => reject(new Error(`relay exited with ${code}`)));
    });
  } catch (e) {
    relay?.kill("SIGKILL");
    await vm.remove();
    throw e;
  }
  const running = relay;
  let stopped = false;
  return {
    vm,
    iface,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running.exitCode === null && running.signalCode === null) {
        const gone = new Promise((r) => running.once("exit", r));
        running.kill("SIGKILL");
        await gone;
      }
      await vm.remove();
    },
  };
}

/**
 * Waits until the guest's IPv6 link-local address has passed duplicate address detection (a
 * client started before that cannot send from it). Throws, naming the address's state, after
 * `timeoutMs`.
 */
export async function waitForLinkLocal(side: VmSide, timeoutMs = 10_000): Promise<string> {
  let last = "";
  for (let waited = 0; waited <= timeoutMs; waited += 100) {
    const r = await execa("ip", [
      "-n",
      side.vm.name,
      "-6",
      "-j",
      "addr",
      "show",
      "dev",
      side.iface,
      "scope",
      "link",
    ]);
    const infos = (JSON.parse(String(r.stdout) || "[]")[0]?.addr_info ?? []) as {
      local: string;
      tentative?: boolean;
      dadfailed?: boolean;
    }[];
    const ready = infos.find((a) => !a.tentative && !a.dadfailed);
    if (ready) return ready.local;
    last = JSON.stringify(infos);
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`the guest's link-local address is not usable after ${timeoutMs} ms: ${last}`);
}

/**
 * dhcpcd in the VM netns: IPv4 only, one lease then exit, asking for the MTU, classless routes and
 * DNS. Its hook script is ours (it records the variables): dhcpcd's own hooks would write the
 * machine's /etc/resolv.conf. The interface is configured by dhcpcd itself.
 */
export async function runDhcpcd(
  vm: TestNetns,
  iface: string,
): Promise<{ exitCode: number | undefined; output: string; env: Record<string, string> }> {
  const dhcpcd = requireProgram("dhcpcd", "dhcpcd5");
  const dir = await mkdtemp(join(tmpdir(), "csn-dhcpcd-"));
  try {
    const envFile = join(dir, "env");
    const script = join(dir, "hook");
    await writeFile(script, `#!/bin/sh\n[ "$reason" = BOUND ] && env > "${envFile}"\nexit 0\n`, {
      mode: 0o755,
    });
    await writeFile(
      join(dir, "dhcpcd.conf"),
      "option interface_mtu, classless_static_routes, domain_name_servers, domain_search\n",
    );
    const r = await execa(
      "ip",
      [
        "netns",
        "exec",
        vm.name,
        dhcpcd,
        "-f",
        join(dir, "dhcpcd.conf"),
        "-c",
        script,
        "-4",
        "-1",
        "-B",
        "-t",
        "20",
        "--noarp",
        "--nobackground",
        iface,
      ],
      { reject: false, timeout: 60_000, all: true },
    );
    const text = await readFile(envFile, "utf8").catch(() => "");
    const env = Object.fromEntries(
      text
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { exitCode: r.exitCode, output: String(r.all), env };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
