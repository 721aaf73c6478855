// A private Open vSwitch: its own ovsdb-server and ovs-vswitchd over a fresh database in a
// directory of its own, optionally inside a network namespace (a simulated host). The userspace
// datapath (netdev) is the default because it needs no kernel module. stop() ends exactly the two
// processes it started, by the pids their pidfiles hold, and removes its files.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { z } from "zod";
import { OvsCommandError, OvsTimeoutError, parseInput } from "./errors.js";
import { Ofctl } from "./ofctl.js";
import { OvsdbClient, type OvsdbClientOptions } from "./ovsdb/client.js";
import { findProgram } from "./programs.js";
import type { VswitchOptions } from "./vswitch/context.js";
import { Vswitch } from "./vswitch/vswitch.js";

export const DEFAULT_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

const sandboxOptions = z
  .object({
    /** Directory for the database, sockets, pidfiles and logs (default: a new temp dir, removed by stop()). */
    dir: z.string().min(1).optional(),
    /** Run the daemons in this network namespace: a name (ip netns exec) or a path (nsenter --net). */
    netns: z.string().min(1).optional(),
    schemaPath: z.string().min(1).optional(),
    /** Options for the typed Vswitch (datapathType defaults to "netdev"). */
    vswitch: z.custom<VswitchOptions>().optional(),
    client: z.custom<OvsdbClientOptions>().optional(),
  })
  .strict();
export type OvsSandboxOptions = z.input<typeof sandboxOptions>;

const DAEMONS = ["ovsdb-server", "ovs-vswitchd"] as const;

export class OvsSandbox {
  private stopped = false;

  private constructor(
    /** Where the sandbox keeps its files. */
    readonly dir: string,
    private readonly ownsDir: boolean,
    readonly netns: string | undefined,
    /** Connected client of the sandbox's ovsdb-server. */
    readonly client: OvsdbClient,
    /** Typed operations on the sandbox (new bridges use the userspace datapath). */
    readonly vswitch: Vswitch,
    /** ovs-ofctl / ovs-appctl bound to this sandbox's sockets. */
    readonly ofctl: Ofctl,
    /** Pids of the daemons this sandbox started. */
    readonly pids: Readonly<Record<(typeof DAEMONS)[number], number>>,
  ) {}

  /** The database remote, for ovs-vsctl --db=... */
  get remote(): string {
    return `unix:${join(this.dir, "db.sock")}`;
  }

  /** Environment that points OVS tools (ovs-vsctl, ovs-ofctl, ovs-appctl) at this sandbox. */
  get env(): Record<string, string> {
    return sandboxEnv(this.dir);
  }

  /** Starts ovsdb-server and ovs-vswitchd; rejects (after cleaning up) if either fails. */
  static async start(input: OvsSandboxOptions = {}): Promise<OvsSandbox> {
    const options = parseInput(sandboxOptions, input, "sandbox");
    const programs = {
      tool: findProgram("ovsdb-tool"),
      server: findProgram("ovsdb-server"),
      vswitchd: findProgram("ovs-vswitchd"),
    };
    const ownsDir = options.dir === undefined;
    // Short path: unix socket paths are limited to 107 bytes.
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "vmnet-ovs-")));
    await mkdir(dir, { recursive: true });
    const env = sandboxEnv(dir);
    const run = async (file: string, args: string[]) => {
      const [command, argv] = inNetns(options.netns, file, args);
      const result = await execa(command, argv, { env, reject: false, stdin: "ignore" });
      if (result.exitCode !== 0) throw new OvsCommandError(file, args, result.exitCode, `${result.stderr}`);
    };
    const started: number[] = [];
    try {
      await run(programs.tool, ["create", join(dir, "conf.db"), options.schemaPath ?? DEFAULT_SCHEMA]);
      await run(programs.server, [
        join(dir, "conf.db"),
        `--remote=punix:${join(dir, "db.sock")}`,
        `--pidfile=${join(dir, "ovsdb-server.pid")}`,
        `--unixctl=${join(dir, "ovsdb-server.ctl")}`,
        `--log-file=${join(dir, "ovsdb-server.log")}`,
        "--detach",
        "--no-chdir",
      ]);
      const serverPid = await readPid(join(dir, "ovsdb-server.pid"));
      started.push(serverPid);
      const client = await OvsdbClient.connect(`unix:${join(dir, "db.sock")}`, options.client);
      try {
        // ovs-vsctl init: ovs-vswitchd needs the one Open_vSwitch row.
        await client.transact([{ op: "insert", table: "Open_vSwitch", row: {} }]);
        await run(programs.vswitchd, [
          `unix:${join(dir, "db.sock")}`,
          `--pidfile=${join(dir, "ovs-vswitchd.pid")}`,
          `--unixctl=${join(dir, "ovs-vswitchd.ctl")}`,
          `--log-file=${join(dir, "ovs-vswitchd.log")}`,
          "--detach",
          "--no-chdir",
        ]);
        const vswitchdPid = await readPid(join(dir, "ovs-vswitchd.pid"));
        started.push(vswitchdPid);
        const vswitch = new Vswitch(client, { datapathType: "netdev", ...options.vswitch });
        await vswitch.sync();
        return new OvsSandbox(dir, ownsDir, options.netns, client, vswitch, new Ofctl({ rundir: dir }), {
          "ovsdb-server": serverPid,
          "ovs-vswitchd": vswitchdPid,
        });
      } catch (error) {
        client.close();
        throw error;
      }
    } catch (error) {
      await Promise.all(started.map((pid) => terminate(pid, dir)));
      if (ownsDir) await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Ends the two daemons (SIGTERM, then SIGKILL after timeoutMs) and removes the sandbox's files. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.vswitch.dispose().catch(() => {});
    this.client.close();
    await terminate(this.pids["ovs-vswitchd"], this.dir, timeoutMs);
    await terminate(this.pids["ovsdb-server"], this.dir, timeoutMs);
    if (this.ownsDir) {
      await rm(this.dir, { recursive: true, force: true });
    } else {
      const files = [
        "conf.db",
        ".conf.db.~lock~",
        "db.sock",
        "ovsdb-server.ctl",
        "ovs-vswitchd.ctl",
        "ovsdb-server.log",
        "ovs-vswitchd.log",
      ];
      await Promise.all(files.map((f) => rm(join(this.dir, f), { force: true })));
    }
  }
}

export function sandboxEnv(dir: string): Record<string, string> {
  return { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
}

function inNetns(netns: string | undefined, file: string, args: string[]): [string, string[]] {
  if (!netns) return [file, args];
  if (netns.startsWith("/")) return [findProgram("nsenter"), [`--net=${netns}`, "--", file, ...args]];
  return [findProgram("ip"), ["netns", "exec", netns, file, ...args]];
}

async function readPid(path: string): Promise<number> {
  const pid = Number((await readFile(path, "utf8")).trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new OvsCommandError("read", [path], undefined, "pidfile holds no pid");
  return pid;
}

/** A pid still names our daemon when it runs (not a zombie) with our directory on its command line. */
async function isOurs(pid: number, dir: string): Promise<boolean> {
  try {
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, "utf8"),
      readFile(`/proc/${pid}/stat`, "utf8"),
    ]);
    // Zombies (state Z) have exited; under a pid namespace whose init does not reap, they linger.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X" && cmdline.includes(dir);
  } catch {
    return false;
  }
}

/** Whether the process still runs (not yet a zombie). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

async function terminate(pid: number, dir: string, timeoutMs = 10_000): Promise<void> {
  if (!(await isOurs(pid, dir))) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  // Ownership is checked once, above: an exiting process loses its cmdline (state D while the
  // kernel tears down its ports) long before it is gone, so from here on wait for the process
  // itself.
  while (await isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      await sleep(50);
      if (await isRunning(pid))
        throw new OvsTimeoutError(`process ${pid} did not exit after SIGKILL`, timeoutMs);
      return;
    }
    await sleep(10);
  }
}

/** Connects to the system's running Open vSwitch (default socket /var/run/openvswitch/db.sock). */
export async function connectSystem(
  options: { remote?: string; client?: OvsdbClientOptions; vswitch?: VswitchOptions } = {},
): Promise<{ client: OvsdbClient; vswitch: Vswitch; ofctl: Ofctl }> {
  const remote = options.remote ?? process.env.OVS_DB ?? "unix:/var/run/openvswitch/db.sock";
  const client = await OvsdbClient.connect(remote, options.client);
  return { client, vswitch: new Vswitch(client, options.vswitch), ofctl: new Ofctl({}) };
}
