// Packet captures. A tap capture reads the tap itself. A whole-bridge capture does as minimega:
// a host tap (internal port) becomes the output of a select-all mirror, and the capture reads
// that tap; stopping it removes the mirror and the tap again.
import { type Capture, type CaptureStats, startCapture } from "@vmnet/capture";
import { z } from "zod";
import type { BridgesContext } from "./context.js";
import { ifName, parseInput } from "./input.js";
import { createMirror, destroyMirror } from "./mirror.js";
import { createHostTap } from "./special-taps.js";
import { destroyPorts } from "./taps.js";

export const captureSpec = z
  .object({
    file: z.string().min(1),
    /** pcap-filter expression. */
    filter: z.string().optional(),
    snaplen: z.number().int().min(64).max(262144).optional(),
    packets: z.number().int().positive().optional(),
    bytes: z.number().int().positive().optional(),
    seconds: z.number().positive().optional(),
    overwrite: z.boolean().optional(),
  })
  .strict();
export type CaptureSpec = z.input<typeof captureSpec>;

export interface BridgeCapture {
  id: number;
  bridge: string;
  /** The interface captured (the tap, or the mirror's host tap). */
  iface: string;
  file: string;
  /** Settles when a limit ends the capture. */
  done: Promise<CaptureStats>;
  stats(): Partial<CaptureStats>;
}

interface Running extends BridgeCapture {
  stop(): Promise<CaptureStats>;
}

let nextId = 1;

async function start(
  ctx: BridgesContext,
  bridge: string,
  iface: string,
  spec: z.output<typeof captureSpec>,
  cleanup: () => Promise<void>,
): Promise<Running> {
  const limits = {
    ...(spec.packets ? { packets: spec.packets } : {}),
    ...(spec.bytes ? { bytes: spec.bytes } : {}),
    ...(spec.seconds ? { seconds: spec.seconds } : {}),
  };
  let capture: Capture;
  try {
    capture = await startCapture({
      iface,
      file: spec.file,
      ...ctx.netnsOption,
      ...(spec.filter ? { filter: spec.filter } : {}),
      ...(spec.snaplen ? { snaplen: spec.snaplen } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
      ...(spec.overwrite ? { overwrite: true } : {}),
    });
  } catch (e) {
    await cleanup();
    throw e;
  }
  let stopped: Promise<CaptureStats> | undefined;
  const stop = () => {
    stopped ??= capture.stop().finally(cleanup);
    return stopped;
  };
  const done = capture.done.then(async (s) => {
    await stop();
    return s;
  });
  done.catch(() => {});
  return { id: nextId++, bridge, iface, file: spec.file, done, stats: () => capture.stats(), stop };
}

export async function captureTap(
  ctx: BridgesContext,
  bridge: string,
  tap: string,
  input: CaptureSpec,
): Promise<Running> {
  parseInput(ifName, tap, "tap");
  const spec = parseInput(captureSpec, input, "capture");
  return start(ctx, bridge, tap, spec, async () => {});
}

export async function captureBridge(
  ctx: BridgesContext,
  bridge: string,
  input: CaptureSpec,
): Promise<Running> {
  const spec = parseInput(captureSpec, input, "capture");
  const tap = await createHostTap(ctx, bridge, {}, {}, "capture");
  let mirror: string | undefined;
  const cleanup = async () => {
    if (mirror) await destroyMirror(ctx, bridge, mirror).catch(() => {});
    await destroyPorts(ctx, [tap]).catch(() => {});
  };
  try {
    mirror = await createMirror(ctx, bridge, { name: `vmnet-capture-${tap}`, output: tap });
  } catch (e) {
    await cleanup();
    throw e;
  }
  return start(ctx, bridge, tap, spec, cleanup);
}
