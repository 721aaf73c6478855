// Tunnels to other hosts: a VXLAN or GRE port whose far end is another host's switch. VLAN tags
// travel inside the tunnel, so taps on the same VLAN on both hosts share one broadcast domain.
// Userspace tunnels leave through the bridge that holds the underlay address (see @vmnet/ovs).
import { z } from "zod";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { ifName, ipAddress, parseInput } from "./input.js";
import { KIND_KEY, OWNER_KEY } from "./keys.js";
import { allocateTapNames } from "./tap-names.js";

export const tunnelSpec = z
  .object({
    type: z.enum(["vxlan", "gre"]),
    remote: ipAddress,
    /** VXLAN VNI or GRE key (default 0). */
    key: z.number().int().min(0).max(0xffffffff).optional(),
    name: ifName.optional(),
    /** A VLAN for the tunnel port (default: trunk, all VLANs cross). */
    vlan: z.number().int().min(0).max(4095).optional(),
  })
  .strict();
export type TunnelSpec = z.input<typeof tunnelSpec>;

export async function addTunnel(ctx: BridgesContext, bridge: string, input: TunnelSpec): Promise<string> {
  const spec = parseInput(tunnelSpec, input, "tunnel");
  const snap = await ctx.vswitch.snapshot();
  const taken = new Set(snap.ports.map((p) => p.name));
  const [name] = spec.name ? [spec.name] : allocateTapNames(`${spec.type}%d`, 1, taken);
  await ctx.vswitch.addPort(bridge, {
    name: name as string,
    type: spec.type,
    options: { remote_ip: spec.remote, ...(spec.key !== undefined ? { key: String(spec.key) } : {}) },
    ...(spec.vlan !== undefined ? { tag: spec.vlan } : {}),
    externalIds: ctx.portIds("tunnel"),
  });
  return name as string;
}

export async function removeTunnel(ctx: BridgesContext, bridge: string, name: string): Promise<void> {
  parseInput(ifName, name, "tunnel");
  const port = await ctx.vswitch.getPort(name);
  if (!port || port.bridge !== bridge) throw new VmnetError(`${name}: no tunnel on bridge ${bridge}`);
  if (port.externalIds[OWNER_KEY] !== ctx.owner || port.externalIds[KIND_KEY] !== "tunnel")
    throw new VmnetError(`${name}: not a tunnel vmnet added; left alone`);
  await ctx.vswitch.deletePort(name, { bridge });
}
