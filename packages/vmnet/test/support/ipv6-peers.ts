// The IPv6 test rig: a "VM" netns whose eth0 is cabled (veth) to a port of a bridge in a "pod"
// netns (the servers listen on that port, as they would on a TAP), a "gateway" netns on another
// bridge port holding the CNI's IPv6 gateway (forwarding on) and, behind it, a "far" netns with an
// address beyond the gateway. dhcpcd runs in the VM netns with private state and writes
// resolv.conf through its own 20-resolv.conf hook, pointed at a temp file.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { execa } from "execa";

export const GATEWAY_MAC = "02:00:5e:10:00:01";
export const NET = {
  prefix: "2001:db8:1::/64",
  guest: "2001:db8:1::100",
  gateway: "2001:db8:1::1",
  gatewayLinkLocal: "fe80::1",
  farGateway: "2001:db8:2::1",
  far: "2001:db8:2::2",
};

export interface Ipv6Rig {
  pod: TestNetns;
  vm: TestNetns;
  gw: TestNetns;
  far: TestNetns;
  /** The bridge port cabled to the VM: where the servers listen. */
  podIf: string;
  /** The bridge in the pod netns. */
  bridge: string;
  vmIf: string;
  vmMac: string;
  remove(): Promise<void>;
}

let rigs = 0;

async function ip(ns: TestNetns, args: string[]): Promise<void> {
  await execa("ip", ["-n", ns.name, ...args]);
}
async function sysctl(ns: TestNetns, key: string, value: string): Promise<void> {
  await execa("ip", ["netns", "exec", ns.name, "sysctl", "-qw", `${key}=${value}`]);
}

/** Builds the four namespaces. `addresses: false` leaves the gateway without its IPv6 addresses. */
export async function ipv6Rig(
  vmMac: string,
  options: { gatewayMac?: string; wiring?: "bridge" | "tc-redirect" } = {},
): Promise<Ipv6Rig> {
  rigs += 1;
  const id = `${process.env.VITEST_POOL_ID ?? "0"}x${rigs}`;
  const pod = await createNetns("v6pod");
  const vm = await createNetns("v6vm");
  const gw = await createNetns("v6gw");
  const far = await createNetns("v6far");
  const all = [pod, vm, gw, far];
  const rig: Ipv6Rig = {
    pod,
    vm,
    gw,
    far,
    podIf: `p6v${id}`,
    bridge: `b6${id}`,
    vmIf: "eth0",
    vmMac,
    remove: async () => {
      await Promise.all(all.map((n) => n.remove()));
    },
  };
  try {
    for (const ns of all) await sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "0");
    // The pod netns only switches frames: no IPv6 of its own (no RS, MLD or DAD noise).
    await sysctl(pod, "net.ipv6.conf.default.disable_ipv6", "1");
    await ip(pod, ["link", "add", rig.podIf, "type", "veth", "peer", "name", "eth0", "netns", vm.name]);
    await ip(pod, ["link", "add", `p6g${id}`, "type", "veth", "peer", "name", "gw0", "netns", gw.name]);
    if (options.wiring === "tc-redirect") {
      // tc-filter wiring (Kata's, Virtlet's): everything arriving on one device leaves by the
      // other, by an ingress u32 match-all + mirred redirect. No bridge at all.
      for (const [from, to] of [
        [rig.podIf, `p6g${id}`],
        [`p6g${id}`, rig.podIf],
      ] as const) {
        await execa("ip", ["netns", "exec", pod.name, "tc", "qdisc", "add", "dev", from, "ingress"]);
        await execa("ip", [
          "netns",
          "exec",
          pod.name,
          "tc",
          "filter",
          "add",
          "dev",
          from,
          "parent",
          "ffff:",
          "protocol",
          "all",
          "u32",
          "match",
          "u32",
          "0",
          "0",
          "action",
          "mirred",
          "egress",
          "redirect",
          "dev",
          to,
        ]);
        await ip(pod, ["link", "set", from, "up"]);
      }
    } else {
      await ip(pod, ["link", "add", rig.bridge, "type", "bridge"]);
      for (const port of [rig.podIf, `p6g${id}`]) {
        await ip(pod, ["link", "set", port, "master", rig.bridge]);
        await ip(pod, ["link", "set", port, "up"]);
      }
      await ip(pod, ["link", "set", rig.bridge, "up"]);
    }
    await ip(vm, ["link", "set", "eth0", "address", vmMac]);
    await ip(gw, ["link", "set", "gw0", "address", options.gatewayMac ?? GATEWAY_MAC]);
    // The gateway: a router with the CNI gateway address, and a link to the far netns.
    await sysctl(gw, "net.ipv6.conf.all.forwarding", "1");
    // The gateway's own link-local is fe80::1, not the EUI-64 address of its MAC that the
    // advertiser uses by default: only our Neighbor Advertisements can make that address lead
    // to the gateway's MAC.
    await sysctl(gw, "net.ipv6.conf.gw0.addr_gen_mode", "1");
    await ip(gw, ["link", "set", "gw0", "up"]);
    await ip(gw, ["addr", "add", `${NET.gatewayLinkLocal}/64`, "dev", "gw0", "nodad"]);
    await ip(gw, ["addr", "add", `${NET.gateway}/64`, "dev", "gw0", "nodad"]);
    await ip(gw, ["link", "add", "gwf", "type", "veth", "peer", "name", "eth0", "netns", far.name]);
    await ip(gw, ["link", "set", "gwf", "up"]);
    await ip(gw, ["addr", "add", `${NET.farGateway}/64`, "dev", "gwf", "nodad"]);
    await ip(far, ["link", "set", "eth0", "up"]);
    await ip(far, ["addr", "add", `${NET.far}/64`, "dev", "eth0", "nodad"]);
    await ip(far, ["-6", "route", "add", "default", "via", NET.farGateway]);
    for (const ns of all) await ip(ns, ["link", "set", "lo", "up"]);
  } catch (error) {
    await rig.remove();
    throw error;
  }
  return rig;
}

/** The VM's device, up, IPv6 enabled (dhcpcd takes RA handling over from the kernel). */
export async function vmLinkUp(rig: { vm: TestNetns; vmIf: string }): Promise<void> {
  await sysctl(rig.vm, `net.ipv6.conf.${rig.vmIf}.disable_ipv6`, "0");
  await ip(rig.vm, ["link", "set", rig.vmIf, "up"]);
}

export interface Dhcpcd6 {
  /** Every hook call so far: reason and the variables dhcpcd passed. */
  events(): Promise<{ reason: string; env: Record<string, string> }[]>;
  resolvConf(): Promise<string>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * dhcpcd -6 in the foreground in the VM netns (own mount and pid namespaces, tmpfs /run, private
 * /var/lib/dhcpcd). Its hook directory is replaced by one holding Debian's 20-resolv.conf with
 * /etc/resolv.conf rewritten to a temp file, plus a recorder run first.
 */
/**
 * Waits until the VM device has a usable link-local address: dhcpcd's IPv6 start fails ("Cannot
 * assign requested address") while it is still tentative, which on a loaded machine can outlast
 * dhcpcd's start. A guest's boot waits for the same thing. A failed DAD is an error, not a wait.
 */
export async function waitLinkLocal(rig: { vm: TestNetns; vmIf: string }, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no link-local address";
  while (Date.now() < deadline) {
    const links = (await rig.vm.ipJson(["-6", "addr", "show", "dev", rig.vmIf, "scope", "link"])) as {
      addr_info?: { local?: string; tentative?: boolean; dadfailed?: boolean }[];
    }[];
    const lls = (links[0]?.addr_info ?? []).filter((a) => a.local?.startsWith("fe80:"));
    const failed = lls.find((a) => a.dadfailed);
    if (failed) throw new Error(`${rig.vmIf}: duplicate address detection failed for ${failed.local}`);
    if (lls.some((a) => !a.tentative)) return;
    last = lls.length > 0 ? `${lls.map((a) => a.local).join(", ")} still tentative` : "no link-local address";
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${rig.vmIf}: ${last} after ${timeoutMs} ms`);
}

export async function startDhcpcd6(
  rig: { vm: TestNetns; vmIf: string },
  config: string[] = [],
  options: { dualStack?: boolean } = {},
): Promise<Dhcpcd6> {
  await waitLinkLocal(rig);
  const dhcpcd = requireProgram("dhcpcd", "dhcpcd-base");
  const dir = await mkdtemp(join(tmpdir(), "ipv6-dhcpcd-"));
  const events = join(dir, "events");
  const resolv = join(dir, "resolv.conf");
  const hooks = join(dir, "hooks");
  await execa("mkdir", ["-p", hooks, join(dir, "state")]);
  await writeFile(events, "");
  await writeFile(
    join(hooks, "00-record"),
    `vars=$(env | grep -E '^(interface|reason|new_|old_|nd[0-9]|ifcarrier)' | sort)\nprintf '@@ %s\\n%s\\n' "$reason" "$vars" >> "${events}"\n`,
  );
  const packaged = await readFile("/usr/lib/dhcpcd/dhcpcd-hooks/20-resolv.conf", "utf8");
  await writeFile(join(hooks, "20-resolv.conf"), packaged.replaceAll("/etc/resolv.conf", resolv));
  const conf = join(dir, "dhcpcd.conf");
  await writeFile(
    conf,
    [
      ...(options.dualStack
        ? ["noipv4ll", "noarp", "option domain_name_servers, domain_search, classless_static_routes"]
        : ["ipv6only"]),
      "ipv6rs",
      "ia_na",
      "option dhcp6_name_servers, dhcp6_domain_search",
      ...config,
      "",
    ].join("\n"),
  );
  const setup = [
    "set -e",
    "mount -t tmpfs -o mode=0755 dhcpcd-run /run",
    "mkdir -p /run/dhcpcd",
    `mount --bind ${join(dir, "state")} /var/lib/dhcpcd`,
    `mount --bind ${hooks} /usr/lib/dhcpcd/dhcpcd-hooks`,
    `exec ${dhcpcd} -B ${options.dualStack ? "" : "-6"} -d -f ${conf} ${rig.vmIf} 2>>${join(dir, "log")}`,
  ].join("; ");
  const child = execa(
    "ip",
    [
      "netns",
      "exec",
      rig.vm.name,
      "unshare",
      "--mount",
      "--pid",
      "--fork",
      "--kill-child=SIGKILL",
      "--propagation",
      "private",
      "sh",
      "-c",
      setup,
    ],
    { reject: false, timeout: 180_000, stdio: "ignore" },
  );
  const parse = (text: string) => {
    const out: { reason: string; env: Record<string, string> }[] = [];
    for (const line of text.split("\n")) {
      if (line.startsWith("@@ ")) out.push({ reason: line.slice(3).trim(), env: {} });
      else if (out.length > 0 && line.includes("=")) {
        const eq = line.indexOf("=");
        (out.at(-1) as { env: Record<string, string> }).env[line.slice(0, eq)] = line.slice(eq + 1);
      }
    }
    return out;
  };
  let stopped: Promise<void> | undefined;
  return {
    events: async () => parse(await readFile(events, "utf8").catch(() => "")),
    resolvConf: () => readFile(resolv, "utf8").catch(() => ""),
    log: () => readFile(join(dir, "log"), "utf8").catch(() => ""),
    stop() {
      stopped ??= (async () => {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await child;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** The VM's global IPv6 addresses and routes as `ip` prints them (route text without metrics). */
export async function vmIpv6(rig: { vm: TestNetns; vmIf: string }) {
  const addrs = await rig.vm.ipJson(["-6", "addr", "show", "dev", rig.vmIf, "scope", "global"]);
  const routes = String((await rig.vm.exec("ip", ["-6", "route", "show", "dev", rig.vmIf])).stdout)
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const w = l.trim().split(/\s+/);
      const via = w.indexOf("via");
      return via >= 0 ? `${w[0]} via ${w[via + 1]}` : (w[0] as string);
    });
  return {
    /** Usable addresses only: a tentative one (DAD running) is not yet a source address. */
    addresses: (addrs[0]?.addr_info ?? [])
      .filter((a: { local?: string; tentative?: boolean }) => a.local !== undefined && !a.tentative)
      .map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`) as string[],
    routes,
  };
}

export async function ping6(ns: TestNetns, address: string): Promise<boolean> {
  const r = await execa("ip", ["netns", "exec", ns.name, "ping", "-6", "-c", "1", "-W", "2", address], {
    reject: false,
  });
  return r.exitCode === 0;
}
