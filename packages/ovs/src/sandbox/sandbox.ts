// A private Open vSwitch: its own ovsdb-server and ovs-vswitchd over a fresh database in a
// directory of its own, optionally inside a network namespace (a simulated host). The userspace
// datapath (netdev) is the default because it needs no kernel module. The directory carries a
// marker naming the owner process, so that a sandbox left behind by a killed owner can be found
// and reaped (findOrphans / reapOrphans). stop() ends exactly the two daemons it started, deletes
// the TAP devices their datapath made and removes its files.
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { z } from "zod";
import { OvsCommandError, OvsInputError, parseInput } from "../errors.js";
import { Ofctl } from "../ofctl.js";
import { OvsdbClient, type OvsdbClientOptions } from "../ovsdb/client.js";
import { findProgram } from "../programs.js";
import type { VswitchOptions } from "../vswitch/context.js";
import { Vswitch } from "../vswitch/vswitch.js";
import { markerForThisProcess, type SandboxMarker, writeMarker } from "./marker.js";
import {
  type FindOrphansOptions,
  findOrphanSandboxes,
  type OrphanSandbox,
  type ReapedSandbox,
  reapOrphanSandboxes,
  SANDBOX_DIR_PREFIX,
} from "./orphans.js";
import { terminateDaemon } from "./processes.js";
import { type TeardownReport, teardownSandbox } from "./teardown.js";

export const DEFAULT_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";

const sandboxOptions = z
  .object({
    /** Directory for the database, sockets, pidfiles and logs (default: a new temp dir, removed by stop()). */
    dir: z.string().min(1).optional(),
    /** Run the daemons in this network namespace: a name (ip netns exec) or a path (nsenter --net). */
    netns: z.string().min(1).optional(),
    schemaPath: z.string().min(1).optional(),
    /** Owner written in the sandbox's marker ([A-Za-z0-9._-], default "vmnet"). */
    owner: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
      .optional(),
    /** Options for the typed Vswitch (datapathType defaults to "netdev"). */
    vswitch: z.custom<VswitchOptions>().optional(),
    client: z.custom<OvsdbClientOptions>().optional(),
  })
  .strict();
export type OvsSandboxOptions = z.input<typeof sandboxOptions>;

const DAEMONS = ["ovsdb-server", "ovs-vswitchd"] as const;

export class OvsSandbox {
  private stopping: Promise<TeardownReport> | undefined;
  /** Daemons started by others against this sandbox (ovn-controller), ended first by stop(). */
  private readonly adopted: Record<string, number> = {};

  private constructor(
    /** Where the sandbox keeps its files. */
    readonly dir: string,
    private readonly marker: SandboxMarker,
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
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), SANDBOX_DIR_PREFIX)));
    await mkdir(dir, { recursive: true });
    const marker = markerForThisProcess(options.owner ?? "vmnet", options.netns, ownsDir);
    const env = sandboxEnv(dir);
    const run = async (file: string, args: string[]) => {
      const [command, argv] = inNetns(options.netns, file, args);
      const result = await execa(command, argv, { env, reject: false, stdin: "ignore" });
      if (result.exitCode !== 0) throw new OvsCommandError(file, args, result.exitCode, `${result.stderr}`);
    };
    const started: Record<string, number> = {};
    const recordDaemon = async (name: (typeof DAEMONS)[number]) => {
      started[name] = await readPid(join(dir, `${name}.pid`));
      marker.daemons[name] = started[name];
      await writeMarker(dir, marker);
      return started[name];
    };
    let client: OvsdbClient | undefined;
    try {
      // The marker comes first: from here on, a killed owner leaves a sandbox that can be reaped.
      await writeMarker(dir, marker);
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
      const serverPid = await recordDaemon("ovsdb-server");
      client = await OvsdbClient.connect(`unix:${join(dir, "db.sock")}`, options.client);
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
      const vswitchdPid = await recordDaemon("ovs-vswitchd");
      const vswitch = new Vswitch(client, { datapathType: "netdev", ...options.vswitch });
      await vswitch.sync();
      return new OvsSandbox(dir, marker, options.netns, client, vswitch, new Ofctl({ rundir: dir }), {
        "ovsdb-server": serverPid,
        "ovs-vswitchd": vswitchdPid,
      });
    } catch (error) {
      client?.close();
      await teardownSandbox({
        dir,
        ownsDir,
        netns: options.netns,
        netnsInode: marker.netnsInode,
        daemons: [started["ovs-vswitchd"], started["ovsdb-server"]].filter(
          (p): p is number => p !== undefined,
        ),
      }).catch(() => {});
      throw error;
    }
  }

  /**
   * Ends the two daemons (SIGTERM, then SIGKILL after timeoutMs), deletes the TAP devices their
   * datapath made (bridges' and internal ports' devices, and ovs-netdev once no other
   * ovs-vswitchd runs in the namespace) and removes the sandbox's files.
   */
  stop(timeoutMs = 10_000): Promise<TeardownReport> {
    this.stopping ??= (async () => {
      await this.vswitch.dispose().catch(() => {});
      this.client.close();
      return teardownSandbox(
        {
          dir: this.dir,
          ownsDir: this.marker.ownsDir,
          netns: this.netns,
          netnsInode: this.marker.netnsInode,
          daemons: [...Object.values(this.adopted), this.pids["ovs-vswitchd"], this.pids["ovsdb-server"]],
        },
        timeoutMs,
      );
    })();
    return this.stopping;
  }

  /**
   * Records a daemon someone started against this sandbox (with the sandbox directory on its
   * command line, e.g. ovn-controller's --pidfile): stop() and orphan reaping end it before the
   * sandbox's own two daemons. A name already adopted is replaced (a restarted daemon).
   */
  async adoptDaemon(name: string, pid: number): Promise<void> {
    if (DAEMONS.includes(name as (typeof DAEMONS)[number]))
      throw new OvsInputError("name", `${name} is the sandbox's own daemon`);
    this.adopted[name] = pid;
    this.marker.daemons[name] = pid;
    await writeMarker(this.dir, this.marker);
  }

  /** Ends an adopted daemon (SIGTERM, then SIGKILL after timeoutMs) and forgets it. */
  async stopAdopted(name: string, timeoutMs = 10_000): Promise<boolean> {
    const pid = this.adopted[name];
    if (pid === undefined) return false;
    const stopped = await terminateDaemon(pid, this.dir, timeoutMs);
    delete this.adopted[name];
    delete this.marker.daemons[name];
    await writeMarker(this.dir, this.marker);
    return stopped;
  }

  /** Pid of an adopted daemon. */
  adoptedPid(name: string): number | undefined {
    return this.adopted[name];
  }

  /**
   * Sandboxes whose owner process no longer runs (killed, crashed), found by the marker in their
   * directory: under the temp dir by default, or the given `roots` and `dirs`.
   */
  static findOrphans(options: FindOrphansOptions = {}): Promise<OrphanSandbox[]> {
    return findOrphanSandboxes(options);
  }

  /** Ends the daemons of every orphan sandbox, deletes its devices and removes its files. */
  static reapOrphans(options: FindOrphansOptions = {}): Promise<ReapedSandbox[]> {
    return reapOrphanSandboxes(options);
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

/** Connects to the system's running Open vSwitch (default socket /var/run/openvswitch/db.sock). */
export async function connectSystem(
  options: { remote?: string; client?: OvsdbClientOptions; vswitch?: VswitchOptions } = {},
): Promise<{ client: OvsdbClient; vswitch: Vswitch; ofctl: Ofctl }> {
  const remote = options.remote ?? process.env.OVS_DB ?? "unix:/var/run/openvswitch/db.sock";
  const client = await OvsdbClient.connect(remote, options.client);
  return { client, vswitch: new Vswitch(client, options.vswitch), ofctl: new Ofctl({}) };
}
