// QoS on a tap through @vmnet/tc-qos: rate, loss, delay and jitter together (minimega: rate XOR
// loss/delay), on egress (toward the VM) and ingress (what the VM sends), always read back from
// the kernel (and, for ingress on a userspace datapath, from OVSDB). Kinds this kernel lacks
// (netem) fail with the kernel's reason and leave the tap as it was.
//
// Ingress: with the kernel datapath an ifb shapes what the VM sends (tc-qos). The userspace
// datapath reads frames with AF_PACKET, which sees them BEFORE tc ingress runs, so there the
// limit is an OpenFlow meter on the tap's incoming traffic (ingress-meter.ts).
import { applyQos, getQos, parseRate, type QosSpec, type QosState, removeQos } from "@vmnet/tc-qos";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { clearIngressMeter, readIngressMeter, setIngressMeter } from "./ingress-meter.js";
import { ifName, parseInput } from "./input.js";
import { OWNER_KEY } from "./keys.js";

async function ownTap(ctx: BridgesContext, bridge: string, tap: string): Promise<void> {
  parseInput(ifName, tap, "tap");
  const port = await ctx.vswitch.getPort(tap);
  if (!port || port.bridge !== bridge) throw new VmnetError(`${tap}: no tap on bridge ${bridge}`);
  if (port.externalIds[OWNER_KEY] !== ctx.owner) throw new VmnetError(`${tap}: not a vmnet tap; left alone`);
}

const policed = (ctx: BridgesContext) => ctx.datapathType === "netdev";

export async function updateQos(
  ctx: BridgesContext,
  bridge: string,
  tap: string,
  spec: QosSpec,
): Promise<QosState> {
  await ownTap(ctx, bridge, tap);
  if (policed(ctx)) {
    const { ingress, ...egress } = spec;
    const ingressRate = ingress ? parseRate(ingress.rate, "qos.ingress.rate") : undefined;
    if (Object.keys(egress).length) await applyQos(tap, egress, { ...ctx.netnsOption, owner: ctx.owner });
    else await removeQos(tap, ctx.netnsOption);
    try {
      if (ingressRate) await setIngressMeter(ctx, bridge, tap, ingressRate);
      else await clearIngressMeter(ctx, bridge, tap);
    } catch (e) {
      await removeQos(tap, ctx.netnsOption).catch(() => {});
      throw e;
    }
    return readQos(ctx, bridge, tap);
  }
  await applyQos(tap, spec, { ...ctx.netnsOption, owner: ctx.owner });
  return getQos(tap, ctx.netnsOption);
}

export async function readQos(ctx: BridgesContext, bridge: string, tap: string): Promise<QosState> {
  await ownTap(ctx, bridge, tap);
  const state = await getQos(tap, ctx.netnsOption);
  if (!policed(ctx)) return state;
  const rate = await readIngressMeter(ctx, bridge, tap);
  return rate ? { ...state, ingress: { rate, burst: 0, ifb: "(OpenFlow meter)" } } : state;
}

export async function clearQos(ctx: BridgesContext, bridge: string, tap: string): Promise<void> {
  await ownTap(ctx, bridge, tap);
  if (policed(ctx)) await clearIngressMeter(ctx, bridge, tap);
  await removeQos(tap, ctx.netnsOption);
}

export type { QosSpec, QosState };
