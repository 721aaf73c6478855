// Real DHCP clients for the DhcpServer tests: a "pod" netns holding the device the server listens
// on, a "VM" netns holding the guest's end, and the clients (busybox udhcpc, dhcpcd) run in the
// VM netns with private state, reporting what they received and what they installed.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { execa, type ResultPromise } from "execa";

export interface PodAndVm {
  pod: TestNetns;
  vm: TestNetns;
  /** Device in the pod netns (what the server listens on). */
  podIf: string;
  /** The guest's device in the VM netns. */
  vmIf: string;
  vmMac: string;
  remove(): Promise<void>;
}

let pairs = 0;
/** A veth pair: `podIf` in a fresh pod netns, `vmIf` (with `vmMac`) in a fresh VM netns, both up. */
export async function podAndVm(
  vmMac: string,
  options: { vmIf?: string; mtu?: number } = {},
): Promise<PodAndVm> {
  pairs += 1;
  const pod = await createNetns("dpod");
  const vm = await createNetns("dvm");
  const podIf = `dp${process.env.VITEST_POOL_ID ?? "0"}x${pairs}`;
  const vmIf = options.vmIf ?? "eth0";
  try {
    await execa("ip", [
      "-n",
      pod.name,
      "link",
      "add",
      podIf,
      "type",
      "veth",
      "peer",
      "name",
      vmIf,
      "netns",
      vm.name,
    ]);
    await execa("ip", ["-n", vm.name, "link", "set", vmIf, "address", vmMac]);
    if (options.mtu) await execa("ip", ["-n", pod.name, "link", "set", podIf, "mtu", String(options.mtu)]);
    // No IPv6 on the test links: router solicitations and DAD would only be noise.
    for (const [ns, dev] of [
      [pod, podIf],
      [vm, vmIf],
    ] as const) {
      await execa("ip", ["netns", "exec", ns.name, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      await execa("ip", ["-n", ns.name, "link", "set", dev, "up"]);
    }
  } catch (error) {
    await Promise.all([pod.remove(), vm.remove()]);
    throw error;
  }
  return {
    pod,
    vm,
    podIf,
    vmIf,
    vmMac,
    remove: async () => {
      await Promise.all([pod.remove(), vm.remove()]);
    },
  };
}

/** One call of a client's script: the event and the variables the client passed. */
export interface ClientEvent {
  event: string;
  env: Record<string, string>;
}

function parseEvents(text: string): ClientEvent[] {
  const events: ClientEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("@@ ")) events.push({ event: line.slice(3).trim(), env: {} });
    else if (events.length > 0 && line.includes("=")) {
      const eq = line.indexOf("=");
      (events.at(-1) as ClientEvent).env[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return events;
}

/**
 * udhcpc's script: records every call, then configures the interface the way a 121-aware script
 * does (busybox's own simple.script, Alpine's): address, MTU, then option 121's routes if given
 * ("via 0.0.0.0" meaning on-link), else the routers. No resolv.conf is written.
 */
const UDHCPC_SCRIPT = `#!/bin/sh
{
  echo "@@ $1"
  env | grep -E '^(interface|ip|subnet|mask|router|dns|domain|search|staticroutes|mtu|lease|serverid|broadcast|hostname|message|opt[0-9]+)='
} >> "$EVENTS"
[ "$INSTALL" = 1 ] || exit 0
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" \${broadcast:+broadcast $broadcast} dev "$interface"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ -n "$1" ] && [ -n "$2" ]; do
        if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"
        else ip route replace "$1" via "$2" dev "$interface"; fi
        shift 2
      done
    elif [ -n "$router" ]; then
      for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    fi ;;
esac
exit 0
`;

export interface ClientRun {
  events: ClientEvent[];
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

export interface UdhcpcOptions {
  /** Extra udhcpc arguments (e.g. ["-r", "10.9.9.9"]). */
  args?: string[];
  /** Configure the interface from the script (default true). */
  install?: boolean;
  /** Quit after the lease (-q, default true); otherwise stop it with the returned handle. */
  quit?: boolean;
  /** Use Debian's packaged /etc/udhcpc/default.script (resolv.conf redirected) instead of ours. */
  debianScript?: boolean;
}

/** A client process running in the VM netns. */
export interface ClientHandle {
  /** Every script call so far. */
  events(): Promise<ClientEvent[]>;
  /** Waits for the client to exit (or end it with signal()). */
  done(): Promise<ClientRun>;
  signal(name: NodeJS.Signals): void;
  /** What Debian's script wrote as resolv.conf ("" when none). */
  resolvConf(): Promise<string>;
}

/** busybox udhcpc in the VM netns: asks for MTU and classless routes, as real guests are told to. */
export async function startUdhcpc(
  vm: TestNetns,
  iface: string,
  options: UdhcpcOptions = {},
): Promise<ClientHandle> {
  const busybox = requireProgram("busybox", "busybox");
  const dir = await mkdtemp(join(tmpdir(), "dhcp-udhcpc-"));
  const eventsFile = join(dir, "events");
  await writeFile(eventsFile, "");
  const script = join(dir, "script");
  let body = UDHCPC_SCRIPT;
  if (options.debianScript) {
    const packaged = await readFile("/etc/udhcpc/default.script", "utf8");
    const resolv = join(dir, "resolv.conf");
    const patched = packaged
      .replace(/^RESOLV_CONF=.*$/m, `RESOLV_CONF="${resolv}"`)
      .replace(/^log\(\) \{[\s\S]*?\n\}/m, "log() { :; }")
      .replace(/\[ -x \/sbin\/resolvconf \]/g, "false");
    await writeFile(join(dir, "debian.script"), patched, { mode: 0o755 });
    body = UDHCPC_SCRIPT.replace(
      /\[ "\$INSTALL" = 1 \] \|\| exit 0[\s\S]*$/,
      `exec /bin/sh "${join(dir, "debian.script")}" "$@"\n`,
    );
  }
  await writeFile(script, body, { mode: 0o755 });
  const args = [
    "netns",
    "exec",
    vm.name,
    busybox,
    "udhcpc",
    "-f",
    "-i",
    iface,
    "-O",
    "mtu",
    "-O",
    "staticroutes",
    "-O",
    "search",
    "-O",
    "hostname",
    "-O",
    "domain",
    "-O",
    "broadcast",
    "-s",
    script,
    "-t",
    "4",
    "-T",
    "1",
    "-A",
    "1",
  ];
  if (options.quit !== false) args.push("-q", "-n");
  args.push(...(options.args ?? []));
  const child: ResultPromise = execa("ip", args, {
    env: { EVENTS: eventsFile, INSTALL: options.install === false ? "0" : "1" },
    reject: false,
    timeout: 60_000,
  });
  return {
    events: async () => parseEvents(await readFile(eventsFile, "utf8")),
    async done(): Promise<ClientRun> {
      const r = await child;
      const events = parseEvents(await readFile(eventsFile, "utf8"));
      await rm(dir, { recursive: true, force: true });
      return { events, stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
    },
    /** SIGUSR2 releases the lease (udhcpc sends DHCPRELEASE), SIGTERM ends it. */
    signal(name: NodeJS.Signals) {
      child.kill(name);
    },
    resolvConf: () => readFile(join(dir, "resolv.conf"), "utf8").catch(() => ""),
  };
}

/** What the kernel of the VM netns shows on the guest's device after a client ran. */
export async function installed(vm: TestNetns, iface: string) {
  const addrs = await vm.ipJson(["-4", "addr", "show", "dev", iface]);
  const routes = await vm.ipJson(["-4", "route", "show", "dev", iface]);
  const link = (await vm.ipJson(["link", "show", "dev", iface]))[0];
  return {
    addresses: (addrs[0]?.addr_info ?? []).map(
      (a: { local: string; prefixlen: number; broadcast?: string }) => ({
        local: a.local,
        prefixlen: a.prefixlen,
        ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
      }),
    ) as { local: string; prefixlen: number; broadcast?: string }[],
    routes: routes.map(
      (r: { dst: string; gateway?: string; flags?: string[]; protocol?: string; scope?: string }) =>
        [r.dst, r.gateway ? `via ${r.gateway}` : "on-link", ...(r.flags ?? [])].join(" "),
    ) as string[],
    mtu: link?.mtu as number,
  };
}
