// A whole OVN deployment on one machine, for tests and demos: a control plane (OvnCentral) and N
// simulated hosts (OvnChassis), each in its own network namespace with its own OVS on the
// userspace datapath, joined by an underlay (a Linux bridge in a namespace of its own, one veth
// per host). Logical switches made in the northbound database then span the hosts over
// Geneve (or VXLAN) tunnels that ovn-controller builds; no tunnel is configured by hand.
import { execa } from "execa";
import { z } from "zod";
import { OvsInputError, parseInput } from "../errors.js";
import { findProgram } from "../programs.js";
import { OvnCentral } from "./central.js";
import { ip, OvnChassis } from "./chassis.js";
import type { OvnNorthbound } from "./northbound.js";

const sandboxOptions = z
  .object({
    /** Number of simulated hosts (default 2). */
    chassis: z.number().int().min(0).max(32).optional(),
    encapType: z.enum(["geneve", "vxlan"]).optional(),
    owner: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
      .optional(),
    /** Prefix of the namespaces it makes (default `ovn<pid>-<n>`; at most 20 characters). */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,20}$/, "must be 1-20 letters, digits, '_' or '-'")
      .optional(),
    /** The underlay's /24, as its first three octets (default "10.250.0"). */
    underlay: z
      .string()
      .regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'must be three octets such as "10.250.0"')
      .optional(),
  })
  .strict();
export type OvnSandboxOptions = z.input<typeof sandboxOptions>;

const plugSpec = z
  .object({
    /** The logical switch port this interface realises (external_ids:iface-id). */
    port: z.string().min(1),
    /** The VM's namespace (a name under /run/netns). */
    netns: z.string().min(1),
    /** The interface name inside the VM's namespace (default eth0). */
    ifname: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/)
      .optional(),
    mac: z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/),
    /** CIDR for the VM side, e.g. 10.0.0.1/24. */
    address: z.string().optional(),
    /** MTU of the VM side (default 1400: room for the Geneve header on a 1500-byte underlay). */
    mtu: z.number().int().min(576).max(9000).optional(),
  })
  .strict();
export type PlugSpec = z.input<typeof plugSpec>;

let sandboxCounter = 0;

export class OvnSandbox {
  private stopping: Promise<void> | undefined;
  private plugCounter = 0;

  private constructor(
    readonly central: OvnCentral,
    /** The namespace holding the underlay's Linux bridge. */
    readonly underlayNetns: string,
    private readonly chassisList: OvnChassis[],
    private readonly options: Required<
      Pick<z.output<typeof sandboxOptions>, "encapType" | "owner" | "prefix" | "underlay">
    >,
  ) {}

  get northbound(): OvnNorthbound {
    return this.central.northbound;
  }

  get nbRemote(): string {
    return this.central.nbRemote;
  }

  get sbRemote(): string {
    return this.central.sbRemote;
  }

  get chassis(): readonly OvnChassis[] {
    return this.chassisList;
  }

  chassisNamed(name: string): OvnChassis {
    const found = this.chassisList.find((c) => c.name === name);
    if (!found) throw new OvsInputError("chassis", `no chassis named ${name}`);
    return found;
  }

  static async start(input: OvnSandboxOptions = {}): Promise<OvnSandbox> {
    const parsed = parseInput(sandboxOptions, input, "ovnSandbox");
    sandboxCounter += 1;
    const options = {
      encapType: parsed.encapType ?? "geneve",
      owner: parsed.owner ?? "vmnet",
      prefix: parsed.prefix ?? `ovn${process.pid}-${sandboxCounter}`,
      underlay: parsed.underlay ?? "10.250.0",
    };
    const central = await OvnCentral.start({ owner: options.owner });
    const underlayNetns = `${options.prefix}-u`;
    const sandbox = new OvnSandbox(central, underlayNetns, [], options);
    try {
      await netnsAdd(underlayNetns);
      await ip(underlayNetns, ["link", "add", "underlay", "type", "bridge"]);
      await ip(underlayNetns, ["link", "set", "underlay", "up"]);
      for (let i = 0; i < (parsed.chassis ?? 2); i++) await sandbox.addChassis();
      return sandbox;
    } catch (error) {
      await sandbox.stop().catch(() => {});
      throw error;
    }
  }

  /** Adds one simulated host (its namespace, NIC on the underlay, OVS and ovn-controller). */
  async addChassis(): Promise<OvnChassis> {
    const index = this.chassisList.length;
    const name = `chassis-${index + 1}`;
    const netns = `${this.options.prefix}-c${index + 1}`;
    await netnsAdd(netns);
    try {
      await ip(netns, ["link", "set", "lo", "up"]);
      await ip(this.underlayNetns, [
        "link",
        "add",
        `ul${index + 1}`,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        netns,
      ]);
      await ip(this.underlayNetns, ["link", "set", `ul${index + 1}`, "master", "underlay", "up"]);
      const chassis = await OvnChassis.start({
        name,
        netns,
        nic: "eth0",
        encapCidr: `${this.options.underlay}.${index + 1}/24`,
        encapType: this.options.encapType,
        sbRemote: this.sbRemote,
        owner: this.options.owner,
      });
      this.chassisList.push(chassis);
      return chassis;
    } catch (error) {
      await netnsDelete(netns);
      throw error;
    }
  }

  /**
   * Plugs a "VM" into a chassis: a veth pair whose host end joins br-int with
   * external_ids:iface-id = the logical port (so ovn-controller binds that port here) and whose
   * other end goes into the VM's namespace with its MAC, address and a lowered MTU.
   */
  async plugVm(chassisName: string, input: PlugSpec): Promise<{ hostIfname: string }> {
    const spec = parseInput(plugSpec, input, "plug");
    const chassis = this.chassisNamed(chassisName);
    this.plugCounter += 1;
    const hostIfname = `vm${this.plugCounter}h`;
    const ifname = spec.ifname ?? "eth0";
    const mtu = String(spec.mtu ?? 1400);
    await ip(chassis.netns, [
      "link",
      "add",
      hostIfname,
      "type",
      "veth",
      "peer",
      "name",
      ifname,
      "netns",
      spec.netns,
    ]);
    await ip(chassis.netns, ["link", "set", hostIfname, "mtu", mtu, "up"]);
    await ip(spec.netns, ["link", "set", ifname, "address", spec.mac, "mtu", mtu, "up"]);
    if (spec.address) await ip(spec.netns, ["addr", "add", spec.address, "dev", ifname]);
    await chassis.ovs.vswitch.addPort("br-int", { name: hostIfname, externalIds: { "iface-id": spec.port } });
    return { hostIfname };
  }

  /** Stops every chassis, deletes the namespaces it made and stops the control plane. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const chassis of this.chassisList) {
        await chassis.stop().catch((e: unknown) => errors.push(e));
        await netnsDelete(chassis.netns).catch((e: unknown) => errors.push(e));
      }
      await netnsDelete(this.underlayNetns).catch((e: unknown) => errors.push(e));
      await this.central.stop().catch((e: unknown) => errors.push(e));
      if (errors.length > 0) throw errors[0];
    })();
    return this.stopping;
  }
}

async function netnsAdd(name: string): Promise<void> {
  await execa(findProgram("ip"), ["netns", "add", name], { stdin: "ignore" });
}

async function netnsDelete(name: string): Promise<void> {
  await execa(findProgram("ip"), ["netns", "delete", name], { stdin: "ignore", reject: false });
}
