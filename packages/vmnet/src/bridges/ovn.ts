// The OVN backend of Bridges: a VLAN is a logical switch in OVN's northbound database and a tap is
// bound to a logical switch port, on whichever host (chassis) it lives. The local Open vSwitch is
// that chassis's (its external_ids:system-id names it; ovn-controller runs beside it and programs
// br-int); a tap's OVS interface carries external_ids:iface-id = its logical port, which is how
// ovn-controller knows to bind the port here. Taps on different hosts then share L2 through the
// tunnels OVN builds itself: no VLAN tag on the port and no tunnel made by hand. QoS, capture and
// bandwidth statistics stay on the local tap, as with a plain bridge.
import { OvnNorthbound, type OvsdbClient, type PortSpec } from "@vmnet/ovs";
import { z } from "zod";
import { VmnetError } from "../errors.js";
import { step } from "../plan/step.js";
import { LSP_KEY, MAC_KEY, VLAN_KEY } from "./keys.js";

/** ovn-controller's key: the logical port this interface realises. */
export const IFACE_ID_KEY = "iface-id";

export const ovnOptions = z
  .object({
    /** The OVN northbound database ("unix:/path" or "tcp:host:6641"). */
    northbound: z.string().min(1),
    /** Name of the logical switch of VLAN n (default "vmnet-vlan%d"). */
    switchFormat: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]*%d[A-Za-z0-9_.:-]*$/, 'must contain %d once, e.g. "vmnet-vlan%d"')
      .default("vmnet-vlan%d"),
    /** This host's chassis name (default: the local OVS's external_ids:system-id). */
    chassis: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,48}$/)
      .optional(),
  })
  .strict();
export type OvnBridgesOptions = z.input<typeof ovnOptions>;

/** A logical port's addresses for a tap: its VM's MAC, or "unknown" (any) when none was given. */
export function logicalAddresses(mac: string | undefined): string[] {
  return [mac ? mac.toLowerCase() : "unknown"];
}

/** The integration bridge ovn-controller programs (the default bridge in OVN mode). */
export const INTEGRATION_BRIDGE = "br-int";

export class OvnBinding {
  private constructor(
    readonly northbound: OvnNorthbound,
    /** This host's chassis name; logical ports are named `<chassis>.<tap>` (tap names are per host). */
    readonly chassis: string,
    readonly switchFormat: string,
  ) {}

  static async open(
    options: z.output<typeof ovnOptions>,
    ovs: OvsdbClient,
    owner: string,
  ): Promise<OvnBinding> {
    let chassis = options.chassis;
    if (chassis === undefined) {
      const [result] = await ovs.transact([
        { op: "select", table: "Open_vSwitch", where: [], columns: ["external_ids"] },
      ]);
      const ids = result?.rows?.[0]?.external_ids;
      const pairs = Array.isArray(ids) && ids[0] === "map" ? (ids[1] as [string, string][]) : [];
      chassis = pairs.find(([k]) => k === "system-id")?.[1];
      if (!chassis)
        throw new VmnetError(
          "ovn: the local Open vSwitch has no external_ids:system-id, so it is not an OVN chassis (set it and run ovn-controller, or pass ovn.chassis)",
        );
    }
    const northbound = await OvnNorthbound.connect(options.northbound, { owner });
    return new OvnBinding(northbound, chassis, options.switchFormat);
  }

  switchFor(vlan: number): string {
    return this.switchFormat.replace("%d", String(vlan));
  }

  portFor(tap: string): string {
    return `${this.chassis}.${tap}`;
  }

  close(): void {
    this.northbound.close();
  }

  /**
   * The step that adds OVS ports, in OVN mode: every tagged port becomes a logical port on its
   * VLAN's logical switch (made if missing; switches are shared by every host and never removed
   * here) and an untagged OVS port carrying iface-id. Undo removes the OVS ports, then the
   * logical ports.
   */
  addPortsStep(
    name: string,
    specs: readonly PortSpec[],
    addOvs: (specs: PortSpec[]) => Promise<() => Promise<void>>,
  ) {
    let undoOvs: (() => Promise<void>) | undefined;
    let logical: string[] = [];
    return step(
      `${name}, bound to OVN logical ports`,
      async () => {
        const bySwitch = new Map<string, { name: string; addresses: string[] }[]>();
        const ovsSpecs: PortSpec[] = specs.map((spec) => {
          if (spec.tag === undefined) return spec;
          const lsp = this.portFor(spec.name);
          const ls = this.switchFor(spec.tag);
          const mac = spec.externalIds?.[MAC_KEY];
          const list = bySwitch.get(ls) ?? [];
          list.push({ name: lsp, addresses: logicalAddresses(mac) });
          bySwitch.set(ls, list);
          const { tag, ...rest } = spec;
          return {
            ...rest,
            externalIds: {
              ...spec.externalIds,
              [IFACE_ID_KEY]: lsp,
              [LSP_KEY]: lsp,
              [VLAN_KEY]: String(tag),
            },
          };
        });
        const added: string[] = [];
        try {
          for (const [ls, ports] of bySwitch) {
            await this.northbound.addLogicalSwitch({ name: ls, mayExist: true });
            await this.northbound.addLogicalPorts(ls, ports);
            added.push(...ports.map((p) => p.name));
          }
          undoOvs = await addOvs(ovsSpecs);
          logical = added;
        } catch (error) {
          await this.northbound.deleteLogicalPorts(added, { ifExists: true }).catch(() => {});
          throw error;
        }
      },
      async () => {
        await undoOvs?.();
        await this.northbound.deleteLogicalPorts(logical, { ifExists: true });
        undoOvs = undefined;
        logical = [];
      },
    );
  }
}
