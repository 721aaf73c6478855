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
  options: { vmIf?: string; mtu?: number; vm?: TestNetns } = {},
): Promise<PodAndVm> {
  pairs += 1;
  const pod = await createNetns("dpod");
  // Several guests may share one VM netns (one device each); it then stays the caller's.
  const vm = options.vm ?? (await createNetns("dvm"));
  const ownVm = options.vm === undefined;
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
    await Promise.all([pod.remove(), ownVm && vm.remove()]);
    throw error;
  }
  return {
    pod,
    vm,
    podIf,
    vmIf,
    vmMac,
    remove: async () => {
      await Promise.all([pod.remove(), ownVm && vm.remove()]);
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
vars=$(env | grep -E '^(interface|ip|subnet|mask|router|dns|domain|search|staticroutes|mtu|lease|serverid|broadcast|hostname|message|opt[0-9]+)=')
printf '@@ %s\\n%s\\n' "$1" "$vars" >> "$EVENTS"
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
  /** The client's own log so far (dhcpcd -d), when it keeps one. */
  log?(): Promise<string>;
  /** Control commands to the running client (dhcpcd -k, -x, -n), when it has them. */
  command?(args: string[]): Promise<{ exitCode?: number | undefined; stdout: unknown; stderr: unknown }>;
  /** Asks the client to exit cleanly, when it has a way; stopClient() signals otherwise. */
  stop?(): Promise<void>;
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
  let finished: Promise<ClientRun> | undefined;
  return {
    events: async () => parseEvents(await readFile(eventsFile, "utf8").catch(() => "")),
    done(): Promise<ClientRun> {
      finished ??= (async () => {
        const r = await child;
        const events = parseEvents(await readFile(eventsFile, "utf8"));
        await rm(dir, { recursive: true, force: true });
        return { events, stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
      })();
      return finished;
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
  // Text, not JSON: `ip -j` leaves out some route metrics (dhcpcd's per-route MTU).
  const routeText = String((await vm.exec("ip", ["-4", "route", "show", "dev", iface])).stdout);
  const link = (await vm.ipJson(["link", "show", "dev", iface]))[0];
  return {
    addresses: (addrs[0]?.addr_info ?? []).map(
      (a: { local: string; prefixlen: number; broadcast?: string }) => ({
        local: a.local,
        prefixlen: a.prefixlen,
        ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
      }),
    ) as { local: string; prefixlen: number; broadcast?: string }[],
    routes: routeText
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((line) => {
        const words = line.trim().split(/\s+/);
        const after = (key: string) => {
          const i = words.indexOf(key);
          return i >= 0 ? words[i + 1] : undefined;
        };
        const via = after("via");
        const mtu = after("mtu");
        return [
          words[0],
          via ? `via ${via}` : "on-link",
          ...(words.includes("onlink") ? ["onlink"] : []),
          ...(mtu ? [`mtu ${mtu}`] : []),
        ].join(" ");
      }),
    mtu: link?.mtu as number,
  };
}

/** dhcpcd's script: records the reason and the DHCP variables of every call. dhcpcd gives its
 * script a clean environment, so the events file is written into the script itself. */
const dhcpcdScript = (eventsFile: string) => `#!/bin/sh
# One write per call, so a reader never sees a call's header without its variables.
vars=$(env | grep -E '^(interface|new_|old_)')
printf '@@ %s\\n%s\\n' "$reason" "$vars" >> "${eventsFile}"
exit 0
`;

export interface DhcpcdOptions {
  /** Kept across runs (leases, DUID) when given: a rebooting guest remembers its lease. */
  stateDir?: string;
  /** Extra dhcpcd.conf lines. */
  config?: string[];
  args?: string[];
}

/**
 * dhcpcd (the full-featured client) in the VM netns, in the foreground, IPv4 only, with private
 * run and state directories (tmpfs or `stateDir` mounted over /run/dhcpcd and /var/lib/dhcpcd in
 * a mount namespace of its own) and a script that only records. dhcpcd configures the interface
 * itself; what it installed is read from the kernel.
 */
export async function startDhcpcd(
  vm: TestNetns,
  iface: string,
  options: DhcpcdOptions = {},
): Promise<ClientHandle> {
  const dhcpcd = requireProgram("dhcpcd", "dhcpcd-base");
  const dir = await mkdtemp(join(tmpdir(), "dhcp-dhcpcd-"));
  const eventsFile = join(dir, "events");
  await writeFile(eventsFile, "");
  const script = join(dir, "script");
  await writeFile(script, dhcpcdScript(eventsFile), { mode: 0o755 });
  const conf = join(dir, "dhcpcd.conf");
  await writeFile(
    conf,
    [
      "ipv4only",
      "noipv4ll",
      "option domain_name_servers, domain_name, domain_search, host_name",
      "option classless_static_routes, interface_mtu, broadcast_address",
      ...(options.config ?? []),
      "",
    ].join("\n"),
  );
  const state = options.stateDir ?? join(dir, "state");
  const setup = [
    "set -e",
    `mkdir -p ${state}`,
    "mount -t tmpfs -o mode=0755 dhcpcd-run /run",
    "mkdir -p /run/dhcpcd",
    `mount --bind ${state} /var/lib/dhcpcd`,
    `exec ${dhcpcd} -B -4 -d -f ${conf} -c ${script} ${(options.args ?? []).join(" ")} ${iface} 2>>${join(dir, "log")}`,
  ].join("; ");
  // Its own pid namespace too: dhcpcd forks privilege-separation helpers, and they must all die
  // with it whatever happens to the test (the kernel kills a pid namespace with its init).
  const child = execa(
    "ip",
    [
      "netns",
      "exec",
      vm.name,
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
    { reject: false, timeout: 120_000, stdio: "ignore" },
  );
  const dhcpcdPid = async (): Promise<number> => {
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").catch(() => "");
    const pid = Number(children.trim().split(/\s+/)[0]);
    if (!pid) throw new Error("dhcpcd is not running");
    return pid;
  };
  let finished: Promise<ClientRun> | undefined;
  const handle: ClientHandle = {
    events: async () => parseEvents(await readFile(eventsFile, "utf8").catch(() => "")),
    done(): Promise<ClientRun> {
      finished ??= (async () => {
        const r = await child;
        const events = parseEvents(await readFile(eventsFile, "utf8"));
        const log = await readFile(join(dir, "log"), "utf8").catch(() => "");
        await rm(dir, { recursive: true, force: true });
        return { events, stdout: "", stderr: log, exitCode: r.exitCode };
      })();
      return finished;
    },
    signal(name: NodeJS.Signals) {
      child.kill(name);
    },
    log: () => readFile(join(dir, "log"), "utf8").catch(() => ""),
    resolvConf: async () => "",
    /** Runs `dhcpcd ARGS` beside the daemon (its mount and network namespaces): -k, -x, -n... */
    async command(args: string[]) {
      const pid = await dhcpcdPid();
      // -4 as the daemon was started: the control socket's name depends on it. The mount and
      // network namespaces, root and working directory are those of `unshare` (the daemon's
      // parent): entering a mount namespace resets root and cwd to the namespace's own, so a test
      // run in a chroot (a fresh CI root) would look for the control socket outside it; the
      // daemon's own root may be its privilege-separation chroot, without the dhcpcd binary.
      const holder = String(child.pid);
      return execa(
        "nsenter",
        ["-t", holder, "-m", "-n", "-r", "-w", `--pid=/proc/${pid}/ns/pid`, dhcpcd, "-4", ...args],
        { reject: false, timeout: 30_000 },
      );
    },
  };
  handle.stop = async () => {
    await handle.command?.(["-x", iface]).catch(() => undefined);
  };
  return handle;
}

/** Ends a client (SIGTERM, then SIGKILL after 5 s) and waits until it has exited. */
export async function stopClient(client: ClientHandle): Promise<ClientRun> {
  if (client.stop) await client.stop();
  else client.signal("SIGTERM");
  const timer = setTimeout(() => client.signal("SIGKILL"), 5000);
  try {
    return await client.done();
  } finally {
    clearTimeout(timer);
  }
}

/** Polls a client's events until one matches (or the time is up). */
export async function waitForEvent(
  client: ClientHandle,
  match: (e: ClientEvent) => boolean,
  timeoutMs = 30_000,
): Promise<ClientEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await client.events()).find(match);
    if (found) return found;
    if (Date.now() > deadline) {
      const events = (await client.events()).map((e) => e.event).join(", ");
      throw new Error(
        `no matching client event in ${timeoutMs} ms; got: ${events}\n${(await client.log?.()) ?? ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * ISC dhclient in the VM netns with Debian's own /sbin/dhclient-script and exit hooks (including
 * rfc3442-classless-routes), so what it installs is what a Debian guest gets. In a mount
 * namespace of its own, the enter-hooks directory is replaced by one hook that records the call
 * and keeps the script away from /etc/resolv.conf.
 */
export async function startDhclient(vm: TestNetns, iface: string): Promise<ClientHandle> {
  const dhclient = requireProgram("dhclient", "isc-dhcp-client");
  const dir = await mkdtemp(join(tmpdir(), "dhcp-dhclient-"));
  const eventsFile = join(dir, "events");
  await writeFile(eventsFile, "");
  const hooks = join(dir, "enter-hooks");
  await execa("mkdir", ["-p", hooks]);
  await writeFile(
    join(hooks, "00-record"),
    [
      `vars=$(env | grep -E '^(interface|new_|old_)')`,
      `printf '@@ %s\\n%s\\n' "$reason" "$vars" >> "${eventsFile}"`,
      "make_resolv_conf() { :; }",
      "",
    ].join("\n"),
  );
  const conf = join(dir, "dhclient.conf");
  await writeFile(
    conf,
    [
      "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;",
      "request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search,",
      "  host-name, interface-mtu, rfc3442-classless-static-routes;",
      "timeout 30;",
      "",
    ].join("\n"),
  );
  const setup = [
    "set -e",
    `mount --bind ${hooks} /etc/dhcp/dhclient-enter-hooks.d`,
    `exec ${dhclient} -4 -d -v -cf ${conf} -lf ${join(dir, "leases")} -pf ${join(dir, "pid")} ${iface} 2>>${join(dir, "log")}`,
  ].join("; ");
  const child = execa(
    "ip",
    [
      "netns",
      "exec",
      vm.name,
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
    { reject: false, timeout: 120_000, stdio: "ignore" },
  );
  let finished: Promise<ClientRun> | undefined;
  return {
    events: async () => parseEvents(await readFile(eventsFile, "utf8").catch(() => "")),
    done(): Promise<ClientRun> {
      finished ??= (async () => {
        const r = await child;
        const events = parseEvents(await readFile(eventsFile, "utf8"));
        const log = await readFile(join(dir, "log"), "utf8").catch(() => "");
        await rm(dir, { recursive: true, force: true });
        return { events, stdout: "", stderr: log, exitCode: r.exitCode };
      })();
      return finished;
    },
    signal(name: NodeJS.Signals) {
      child.kill(name);
    },
    log: () => readFile(join(dir, "log"), "utf8").catch(() => ""),
    resolvConf: async () => "",
  };
}
