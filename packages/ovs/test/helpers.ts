// Test-only helpers: a bare ovsdb-server to restart and kill at will, and a small lab of network
// namespaces ("hosts") wired to a sandbox switch by veth pairs, all through iproute2.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { execa } from "execa";

export const pool = process.env.VITEST_POOL_ID ?? "0";

/** A short name unique to this worker (interface names must fit in 15 bytes). */
let serial = 0;
export function shortName(prefix: string): string {
  serial += 1;
  return `${prefix}${pool}${serial}`;
}

export class BareServer {
  pid = 0;
  private constructor(
    readonly dir: string,
    readonly tcpPort: number,
  ) {}

  static async create(): Promise<BareServer> {
    requireProgram("ovsdb-server", "openvswitch-common");
    const dir = await mkdtemp(join(tmpdir(), "vmnet-ovsdb-"));
    await execa("ovsdb-tool", ["create", join(dir, "conf.db"), "/usr/share/openvswitch/vswitch.ovsschema"]);
    const server = new BareServer(dir, 20000 + Number(pool) * 100 + Math.floor(Math.random() * 100));
    await server.start();
    return server;
  }

  get unix(): string {
    return `unix:${join(this.dir, "db.sock")}`;
  }

  get tcp(): string {
    return `tcp:127.0.0.1:${this.tcpPort}`;
  }

  async start(): Promise<void> {
    await execa(
      "ovsdb-server",
      [
        join(this.dir, "conf.db"),
        `--remote=punix:${join(this.dir, "db.sock")}`,
        `--remote=ptcp:${this.tcpPort}:127.0.0.1`,
        `--pidfile=${join(this.dir, "ovsdb-server.pid")}`,
        `--unixctl=${join(this.dir, "ovsdb-server.ctl")}`,
        `--log-file=${join(this.dir, "ovsdb-server.log")}`,
        "--detach",
        "--no-chdir",
      ],
      { env: { OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir } },
    );
    this.pid = Number((await readFile(join(this.dir, "ovsdb-server.pid"), "utf8")).trim());
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    process.kill(this.pid, signal);
    if (signal === "SIGKILL" || signal === "SIGTERM") {
      for (let i = 0; i < 200; i++) {
        const stat = await readFile(`/proc/${this.pid}/stat`, "utf8").catch(() => "");
        if (stat === "" || / [ZX] /.test(stat.slice(stat.lastIndexOf(")")))) break;
        await sleep(10);
      }
      await rm(join(this.dir, "db.sock"), { force: true });
    }
  }

  async vsctl(...args: string[]): Promise<string> {
    return (await execa("ovs-vsctl", ["--no-wait", `--db=${this.unix}`, ...args])).stdout;
  }

  async destroy(): Promise<void> {
    await this.kill("SIGKILL").catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A namespace standing for a host, with one veth into the switch's namespace. */
export interface Host {
  ns: TestNetns;
  /** The veth end inside the host. */
  ifname: string;
  /** The veth end on the switch side (add it to a bridge as a system port). */
  port: string;
  ip: string;
  mac: string;
}

/**
 * Creates a host namespace with address `cidr` on a veth whose other end (`port`) is moved into
 * `switchNs` (a netns name) or left in the current namespace.
 */
export async function createHost(cidr: string, switchNs?: string): Promise<Host> {
  const ns = await createNetns("h");
  const port = shortName("vp");
  const ifname = "eth0";
  const temp = shortName("vt");
  await execa("ip", ["link", "add", port, "type", "veth", "peer", "name", temp]);
  await execa("ip", ["link", "set", temp, "netns", ns.name]);
  await ns.exec("ip", ["link", "set", temp, "name", ifname]);
  // No IPv6 on the host's link: no router solicitations or MLD reports that a capture could count
  // in place of the test's own frames.
  await ns.exec("sysctl", ["-q", "-w", `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
  await ns.exec("ip", ["addr", "add", cidr, "dev", ifname]);
  await ns.exec("ip", ["link", "set", ifname, "up"]);
  if (switchNs) {
    await execa("ip", ["link", "set", port, "netns", switchNs]);
    await execa("ip", ["-n", switchNs, "link", "set", port, "up"]);
  } else {
    await execa("ip", ["link", "set", port, "up"]);
  }
  const [link] = await ns.ipJson(["link", "show", ifname]);
  return { ns, ifname, port, ip: cidr.split("/")[0] as string, mac: link.address as string };
}

/** True when `count` pings from `from` to `ip` get at least one answer within the deadline. */
export async function pings(from: Host | TestNetns, ip: string, deadlineSeconds = 4): Promise<boolean> {
  requireProgram("ping", "iputils-ping");
  const ns = "ns" in from ? from.ns : from;
  const result = await ns.exec("ping", ["-c", "1", "-w", String(deadlineSeconds), "-i", "0.2", ip], {
    reject: false,
  });
  return result.exitCode === 0;
}

/** Retries ping until it succeeds (the userspace datapath needs about a second for the first). */
export async function pingsEventually(from: Host | TestNetns, ip: string, attempts = 4): Promise<boolean> {
  for (let i = 0; i < attempts; i++) if (await pings(from, ip, 3)) return true;
  return false;
}

/** Starts tcpdump in a namespace; resolves its parsed stdout once it exits (after `count` packets or the timeout). */
export function tcpdump(ns: TestNetns, ifname: string, filter: string[], count: number, timeoutSeconds = 10) {
  requireProgram("tcpdump", "tcpdump");
  const proc = ns.exec(
    "timeout",
    [String(timeoutSeconds), "tcpdump", "-i", ifname, "-e", "-n", "-l", "-c", String(count), ...filter],
    {
      reject: false,
    },
  );
  return {
    /** Resolves when tcpdump has started listening. */
    ready: new Promise<void>((resolve) => {
      proc.stderr?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("listening on")) resolve();
      });
      setTimeout(resolve, 3000);
    }),
    lines: proc.then((r) => String(r.stdout).split("\n").filter(Boolean)),
  };
}
