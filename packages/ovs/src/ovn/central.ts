// An OVN control plane in a directory of its own: the northbound and southbound ovsdb-servers and
// ovn-northd, on unix sockets (a chassis in another network namespace still reaches them by path).
// Its directory carries the same owner marker as an OVS sandbox (role=ovn-central), so a killed
// owner's control plane is found and reaped by OvsSandbox.reapOrphans().
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { OvsCommandError } from "../errors.js";
import { OvsdbClient } from "../ovsdb/client.js";
import { findProgram } from "../programs.js";
import { markerForThisProcess, type SandboxMarker, writeMarker } from "../sandbox/marker.js";
import { daemonStopOrder, SANDBOX_DIR_PREFIX } from "../sandbox/orphans.js";
import { type TeardownReport, teardownSandbox } from "../sandbox/teardown.js";
import { NORTHBOUND_DATABASE, OvnNorthbound } from "./northbound.js";
import { findOvnProgram, NB_SCHEMA, SB_SCHEMA } from "./programs.js";

export const SOUTHBOUND_DATABASE = "OVN_Southbound";

export class OvnCentral {
  private stopping: Promise<TeardownReport> | undefined;

  private constructor(
    readonly dir: string,
    private readonly marker: SandboxMarker,
    /** Typed northbound operations (a connected client). */
    readonly northbound: OvnNorthbound,
    /** A client of the southbound database (chassis, port bindings), for reads. */
    readonly southbound: OvsdbClient,
  ) {}

  get nbRemote(): string {
    return `unix:${join(this.dir, "nb.sock")}`;
  }

  get sbRemote(): string {
    return `unix:${join(this.dir, "sb.sock")}`;
  }

  get pids(): Readonly<Record<string, number>> {
    return { ...this.marker.daemons };
  }

  static async start(options: { owner?: string } = {}): Promise<OvnCentral> {
    const programs = {
      tool: findProgram("ovsdb-tool"),
      server: findProgram("ovsdb-server"),
      northd: findOvnProgram("ovn-northd"),
    };
    const dir = await mkdtemp(join(tmpdir(), `${SANDBOX_DIR_PREFIX}ovn-`));
    const marker = markerForThisProcess(options.owner ?? "vmnet", undefined, true, "ovn-central");
    const run = async (file: string, args: string[]) => {
      const result = await execa(file, args, {
        reject: false,
        stdin: "ignore",
        env: { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir },
      });
      if (result.exitCode !== 0) throw new OvsCommandError(file, args, result.exitCode, `${result.stderr}`);
    };
    const daemon = async (name: string, file: string, args: string[]) => {
      await run(file, [
        ...args,
        `--pidfile=${join(dir, `${name}.pid`)}`,
        `--unixctl=${join(dir, `${name}.ctl`)}`,
        `--log-file=${join(dir, `${name}.log`)}`,
        "--detach",
        "--no-chdir",
      ]);
      const pid = Number((await readFile(join(dir, `${name}.pid`), "utf8")).trim());
      marker.daemons[name] = pid;
      await writeMarker(dir, marker);
    };
    const clients: OvsdbClient[] = [];
    try {
      await writeMarker(dir, marker);
      await run(programs.tool, ["create", join(dir, "nb.db"), NB_SCHEMA]);
      await run(programs.tool, ["create", join(dir, "sb.db"), SB_SCHEMA]);
      await daemon("ovsdb-server-nb", programs.server, [
        join(dir, "nb.db"),
        `--remote=punix:${join(dir, "nb.sock")}`,
      ]);
      await daemon("ovsdb-server-sb", programs.server, [
        join(dir, "sb.db"),
        `--remote=punix:${join(dir, "sb.sock")}`,
      ]);
      const nbClient = await OvsdbClient.connect(`unix:${join(dir, "nb.sock")}`, {
        database: NORTHBOUND_DATABASE,
      });
      clients.push(nbClient);
      const northbound = new OvnNorthbound(
        nbClient,
        options.owner !== undefined ? { owner: options.owner } : {},
      );
      await northbound.init();
      await daemon("ovn-northd", programs.northd, [
        `--ovnnb-db=unix:${join(dir, "nb.sock")}`,
        `--ovnsb-db=unix:${join(dir, "sb.sock")}`,
      ]);
      const southbound = await OvsdbClient.connect(`unix:${join(dir, "sb.sock")}`, {
        database: SOUTHBOUND_DATABASE,
      });
      clients.push(southbound);
      return new OvnCentral(dir, marker, northbound, southbound);
    } catch (error) {
      for (const client of clients) client.close();
      await teardownSandbox({
        dir,
        ownsDir: true,
        netns: undefined,
        netnsInode: 0,
        daemons: daemonStopOrder(marker.daemons),
        devices: false,
      }).catch(() => {});
      throw error;
    }
  }

  /** Ends ovn-northd and both database servers and removes the directory. */
  stop(timeoutMs = 10_000): Promise<TeardownReport> {
    this.stopping ??= (async () => {
      this.northbound.close();
      this.southbound.close();
      return teardownSandbox(
        {
          dir: this.dir,
          ownsDir: true,
          netns: undefined,
          netnsInode: 0,
          daemons: daemonStopOrder(this.marker.daemons),
          devices: false,
        },
        timeoutMs,
      );
    })();
    return this.stopping;
  }
}
