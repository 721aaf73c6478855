// One simulated OVN host: a network namespace with its own Open vSwitch (an OvsSandbox on the
// userspace datapath) and its own ovn-controller. The underlay address sits on an OVS bridge
// (br-phy) holding the host's NIC, because userspace tunnels leave through the bridge that owns
// the tunnel's source address; br-int is the integration bridge ovn-controller programs.
// ovn-controller finds br-int's management socket (br-int.mgmt) through OVS_RUNDIR, so it runs
// with the OVS sandbox's environment.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { OvsCommandError, OvsTimeoutError } from "../errors.js";
import { map } from "../ovsdb/operations.js";
import { OvsSandbox, sandboxEnv } from "../sandbox/sandbox.js";
import { findOvnProgram } from "./programs.js";

export const CONTROLLER = "ovn-controller";

export interface ChassisConfig {
  /** The chassis name (OVS external_ids:system-id). */
  readonly name: string;
  /** Its network namespace (a name under /run/netns). */
  readonly netns: string;
  /** The host's NIC in that namespace, already linked to the underlay. */
  readonly nic: string;
  /** The underlay (tunnel endpoint) address, CIDR. */
  readonly encapCidr: string;
  readonly encapType: "geneve" | "vxlan";
  readonly sbRemote: string;
  readonly owner: string;
}

export class OvnChassis {
  private constructor(
    readonly config: ChassisConfig,
    /** The chassis's Open vSwitch. */
    readonly ovs: OvsSandbox,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get netns(): string {
    return this.config.netns;
  }

  /** The tunnel endpoint address (without prefix length). */
  get encapIp(): string {
    return this.config.encapCidr.split("/")[0] as string;
  }

  /** Pid of the running ovn-controller, if any. */
  get controllerPid(): number | undefined {
    return this.ovs.adoptedPid(CONTROLLER);
  }

  static async start(config: ChassisConfig): Promise<OvnChassis> {
    const ovs = await OvsSandbox.start({ netns: config.netns, owner: config.owner });
    try {
      const v = ovs.vswitch;
      await v.addBridge({ name: "br-phy" });
      await v.addPort("br-phy", { name: config.nic });
      await ip(config.netns, ["addr", "add", config.encapCidr, "dev", "br-phy"]);
      await ip(config.netns, ["link", "set", "br-phy", "up"]);
      await ip(config.netns, ["link", "set", config.nic, "up"]);
      await v.addBridge({ name: "br-int", failMode: "secure", otherConfig: { "disable-in-band": "true" } });
      await ovs.client.transact([
        {
          op: "mutate",
          table: "Open_vSwitch",
          where: [],
          mutations: [
            [
              "external_ids",
              "insert",
              map({
                "system-id": config.name,
                hostname: config.name,
                "ovn-remote": config.sbRemote,
                "ovn-encap-type": config.encapType,
                "ovn-encap-ip": config.encapCidr.split("/")[0] as string,
                "ovn-bridge": "br-int",
                "ovn-bridge-datapath-type": "netdev",
              }),
            ],
          ],
        },
      ]);
      const chassis = new OvnChassis(config, ovs);
      await chassis.startController();
      return chassis;
    } catch (error) {
      await ovs.stop().catch(() => {});
      throw error;
    }
  }

  /** Starts ovn-controller (again, after removeController). */
  async startController(): Promise<number> {
    if (this.controllerPid !== undefined) return this.controllerPid;
    const dir = this.ovs.dir;
    const args = [
      `unix:${join(dir, "db.sock")}`,
      `--pidfile=${join(dir, "ovn-controller.pid")}`,
      `--log-file=${join(dir, "ovn-controller.log")}`,
      "--detach",
      "--no-chdir",
    ];
    const file = findOvnProgram(CONTROLLER);
    const result = await execa("ip", ["netns", "exec", this.netns, file, ...args], {
      env: { ...sandboxEnv(dir), OVN_RUNDIR: dir, OVN_LOGDIR: dir },
      reject: false,
      stdin: "ignore",
    });
    if (result.exitCode !== 0) throw new OvsCommandError(file, args, result.exitCode, `${result.stderr}`);
    const pid = Number((await readFile(join(dir, "ovn-controller.pid"), "utf8")).trim());
    await this.ovs.adoptDaemon(CONTROLLER, pid);
    return pid;
  }

  /**
   * Takes the chassis out of OVN: ovn-controller exits the way `ovn-appctl exit` asks it to,
   * deleting its Chassis record and releasing its port bindings (the ports go down), and the
   * process is waited for.
   */
  async removeController(timeoutMs = 10_000): Promise<void> {
    const pid = this.controllerPid;
    if (pid === undefined) return;
    // ovn-controller has no --unixctl: its control socket is OVN_RUNDIR/ovn-controller.<pid>.ctl.
    const ctl = join(this.ovs.dir, `ovn-controller.${pid}.ctl`);
    await execa(findOvnProgram("ovn-appctl"), ["-t", ctl, "exit"], {
      reject: false,
      stdin: "ignore",
      timeout: timeoutMs,
    });
    const deadline = Date.now() + timeoutMs;
    while (await running(pid)) {
      if (Date.now() > deadline) break;
      await sleep(20);
    }
    // stopAdopted signals it only if it still runs (the exit above normally ended it).
    await this.ovs.stopAdopted(CONTROLLER, timeoutMs);
    if (await running(pid)) throw new OvsTimeoutError(`ovn-controller ${pid} did not exit`, timeoutMs);
  }

  /** Stops ovn-controller and the chassis's OVS (its devices and files go with it). */
  async stop(): Promise<void> {
    await this.ovs.stop();
  }
}

async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "latin1").catch(() => "");
  return stat !== "" && !/^ [ZX]/.test(stat.slice(stat.lastIndexOf(")") + 1));
}

export async function ip(netns: string | undefined, args: string[]): Promise<void> {
  const argv = netns === undefined ? args : ["-n", netns, ...args];
  const result = await execa("ip", argv, { reject: false, stdin: "ignore" });
  if (result.exitCode !== 0) throw new OvsCommandError("ip", argv, result.exitCode, `${result.stderr}`);
}
