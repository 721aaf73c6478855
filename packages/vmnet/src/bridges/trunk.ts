// Trunks: an existing interface (a NIC, a veth to another switch) added to the bridge carrying
// every VLAN, or a chosen set. The kernel link is not ours and is never deleted: removing the
// trunk removes only its OVS port.
import { z } from "zod";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { ifName, parseInput, vlanId } from "./input.js";
import { KIND_KEY, OWNER_KEY } from "./keys.js";

export const trunkSpec = z.object({ iface: ifName, vlans: z.array(vlanId).optional() }).strict();
export type TrunkSpec = z.input<typeof trunkSpec>;

export async function addTrunk(ctx: BridgesContext, bridge: string, input: TrunkSpec): Promise<void> {
  const spec = parseInput(trunkSpec, input, "trunk");
  // The interface must exist where the switch is (one request, ENODEV otherwise).
  await ctx.rtnl.links.get(spec.iface);
  await ctx.vswitch.addPort(bridge, {
    name: spec.iface,
    ...(spec.vlans?.length ? { trunks: spec.vlans } : {}),
    externalIds: ctx.portIds("trunk"),
  });
  await ctx.rtnl.links.set(spec.iface, { up: true });
}

export async function removeTrunk(ctx: BridgesContext, bridge: string, iface: string): Promise<void> {
  parseInput(ifName, iface, "trunk");
  const port = await ctx.vswitch.getPort(iface);
  if (!port || port.bridge !== bridge) throw new VmnetError(`${iface}: no trunk on bridge ${bridge}`);
  if (port.externalIds[OWNER_KEY] !== ctx.owner || port.externalIds[KIND_KEY] !== "trunk")
    throw new VmnetError(`${iface}: not a trunk vmnet added; left alone`);
  await ctx.vswitch.deletePort(iface, { bridge });
}
