// Ingress limits on a userspace-datapath bridge: an OpenFlow meter (drop band) and a flow sending
// the tap's incoming traffic through it before normal switching. tc cannot do it there: the
// datapath reads frames with AF_PACKET, which sees them before tc ingress runs (and OVS's own
// ingress_policing needs the kernel's police action). Meter id = the tap's OpenFlow port number.
import { dirname } from "node:path";
import { execa } from "execa";
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { METER_KEY } from "./keys.js";

const FLOW_PRIORITY = 40_000;
const COOKIE = "0x766d6e6574"; // "vmnet": marks the flows vmnet adds

async function ofctl(ctx: BridgesContext, args: string[]): Promise<string> {
  const rundir = ctx.remote.startsWith("unix:") ? dirname(ctx.remote.slice(5)) : undefined;
  const r = await execa("ovs-ofctl", ["-O", "OpenFlow13", ...args], {
    env: rundir ? { OVS_RUNDIR: rundir } : {},
    reject: false,
  });
  if (r.exitCode !== 0) throw new VmnetError(`ovs-ofctl ${args[0]}: ${String(r.stderr).trim()}`);
  return String(r.stdout);
}

async function markMeter(ctx: BridgesContext, tap: string, meter: number | undefined): Promise<void> {
  await ctx.vswitch.transact([
    {
      op: "mutate",
      table: "Port",
      where: [["name", "==", tap]],
      mutations:
        meter === undefined
          ? [["external_ids", "delete", ["set", [METER_KEY]]]]
          : [
              ["external_ids", "delete", ["set", [METER_KEY]]],
              ["external_ids", "insert", ["map", [[METER_KEY, String(meter)]]]],
            ],
    },
  ]);
}

async function ofport(ctx: BridgesContext, tap: string): Promise<number> {
  const iface = (await ctx.vswitch.snapshot()).interfaces.find((i) => i.name === tap);
  if (!iface?.ofport || iface.ofport < 1) throw new VmnetError(`${tap}: has no OpenFlow port yet`);
  return iface.ofport;
}

/** OpenFlow 1.3 on the bridge (meters need it), keeping 1.0 for the tools. */
async function enableOpenflow13(ctx: BridgesContext, bridge: string): Promise<void> {
  await ctx.vswitch.transact([
    {
      op: "mutate",
      table: "Bridge",
      where: [["name", "==", bridge]],
      mutations: [["protocols", "insert", ["set", ["OpenFlow10", "OpenFlow13"]]]],
    },
  ]);
}

export async function setIngressMeter(
  ctx: BridgesContext,
  bridge: string,
  tap: string,
  bytesPerSecond: number,
): Promise<void> {
  await enableOpenflow13(ctx, bridge);
  const port = await ofport(ctx, tap);
  const kbps = Math.max(1, Math.round((bytesPerSecond * 8) / 1000));
  const burst = Math.max(kbps / 10, 128);
  const meter = `meter=${port},kbps,burst,band=type=drop,rate=${kbps},burst_size=${Math.round(burst)}`;
  const existing = await readIngressMeter(ctx, bridge, tap);
  await ofctl(ctx, [existing ? "mod-meter" : "add-meter", bridge, meter]);
  await ofctl(ctx, [
    "add-flow",
    bridge,
    `cookie=${COOKIE},priority=${FLOW_PRIORITY},in_port=${port},actions=meter:${port},NORMAL`,
  ]);
  await markMeter(ctx, tap, port);
}

export async function clearIngressMeter(ctx: BridgesContext, bridge: string, tap: string): Promise<void> {
  const port = await ofport(ctx, tap).catch(() => undefined);
  if (port === undefined) return;
  if (!(await readIngressMeter(ctx, bridge, tap))) return;
  await ofctl(ctx, ["del-flows", "--strict", bridge, `priority=${FLOW_PRIORITY},in_port=${port}`]);
  await ofctl(ctx, ["del-meter", bridge, `meter=${port}`]);
  await markMeter(ctx, tap, undefined);
}

/** The meter's rate in bytes/s, or undefined when the tap has none. */
export async function readIngressMeter(
  ctx: BridgesContext,
  bridge: string,
  tap: string,
): Promise<number | undefined> {
  const port = await ofport(ctx, tap);
  let text: string;
  try {
    text = await ofctl(ctx, ["dump-meters", bridge, `meter=${port}`]);
  } catch {
    return undefined;
  }
  const m = /type=drop rate=(\d+)/.exec(text);
  return m ? (Number(m[1]) * 1000) / 8 : undefined;
}
