// QoS on a tap through @vmnet/tc-qos: rate, loss, delay and jitter together (minimega: rate XOR
// loss/delay), on egress (toward the VM) and ingress (what the VM sends, shaped through an ifb),
// always read back from the kernel. Kinds this kernel lacks (netem) fail with the kernel's reason
// and leave the tap as it was.
import { applyQos, getQos, type QosSpec, type QosState, removeQos } from "@vmnet/tc-qos";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { ifName, parseInput } from "./input.js";
import { OWNER_KEY } from "./keys.js";

async function ownTap(ctx: BridgesContext, bridge: string, tap: string): Promise<void> {
  parseInput(ifName, tap, "tap");
  const port = await ctx.vswitch.getPort(tap);
  if (!port || port.bridge !== bridge) throw new VmnetError(`${tap}: no tap on bridge ${bridge}`);
  if (port.externalIds[OWNER_KEY] !== ctx.owner) throw new VmnetError(`${tap}: not a vmnet tap; left alone`);
}

export async function updateQos(
  ctx: BridgesContext,
  bridge: string,
  tap: string,
  spec: QosSpec,
): Promise<QosState> {
  await ownTap(ctx, bridge, tap);
  await applyQos(tap, spec, { ...ctx.netnsOption, owner: ctx.owner } as Parameters<typeof applyQos>[2]);
  return getQos(tap, ctx.netnsOption);
}

export async function readQos(ctx: BridgesContext, bridge: string, tap: string): Promise<QosState> {
  await ownTap(ctx, bridge, tap);
  return getQos(tap, ctx.netnsOption);
}

export async function clearQos(ctx: BridgesContext, bridge: string, tap: string): Promise<void> {
  await ownTap(ctx, bridge, tap);
  await removeQos(tap, ctx.netnsOption);
}

export type { QosSpec, QosState };
