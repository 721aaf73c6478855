// Mirrors: copies of traffic (all of the bridge, some taps' traffic, some VLANs) sent out of one
// port. The mirror row carries the ownership mark like every other row vmnet makes.
import { z } from "zod";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { ifName, parseInput, vlanId } from "./input.js";
import { OWNER_KEY } from "./keys.js";

export const mirrorSpec = z
  .object({
    name: z.string().min(1).max(64).optional(),
    /** Taps whose traffic (both directions) is copied; with vlans left out too: everything. */
    sources: z.array(ifName).optional(),
    vlans: z.array(vlanId).optional(),
    /** The port that receives the copies. */
    output: ifName,
  })
  .strict();
export type MirrorSpec = z.input<typeof mirrorSpec>;

export async function createMirror(ctx: BridgesContext, bridge: string, input: MirrorSpec): Promise<string> {
  const spec = parseInput(mirrorSpec, input, "mirror");
  const name = spec.name ?? `vmnet-mirror-${spec.output}`;
  const all = !spec.sources?.length && !spec.vlans?.length;
  await ctx.vswitch.addMirror(bridge, {
    name,
    ...(all ? { selectAll: true } : {}),
    ...(spec.sources?.length ? { selectSrcPorts: spec.sources, selectDstPorts: spec.sources } : {}),
    ...(spec.vlans?.length ? { selectVlans: spec.vlans } : {}),
    outputPort: spec.output,
  });
  // Flows cached before the mirror existed keep their old actions while busy: start afresh.
  await ctx.ofctl.purgeDatapathFlows().catch(() => {});
  return name;
}

export async function destroyMirror(ctx: BridgesContext, bridge: string, name: string): Promise<void> {
  const mirror = (await ctx.vswitch.listMirrors(bridge)).find((m) => m.name === name);
  if (!mirror) throw new VmnetError(`${name}: no mirror on bridge ${bridge}`);
  if (mirror.externalIds[OWNER_KEY] !== ctx.owner)
    throw new VmnetError(`${name}: not made by vmnet; left alone`);
  await ctx.vswitch.deleteMirror(bridge, name);
}
