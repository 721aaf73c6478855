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

/** One capture a Bridges started, as `Bridges.captures()` lists it. */
export interface CaptureInfo {
  id: number;
  bridge: string;
  /** The interface captured (the tap, or the whole-bridge capture's mirror host tap). */
  iface: string;
  file: string;
  running: boolean;
  packets: number;
  bytes: number;
  drops: number;
  /** Size of the file once finished. */
  fileBytes: number | undefined;
  /** Why it ended (a limit, "stopped", "error"); undefined while running. */
  reason: string | undefined;
}

export interface Running extends BridgeCapture {
  stop(): Promise<CaptureStats>;
}

/**
 * The captures of one Bridges: running ones, and the last FINISHED_KEPT finished ones with their
 * final counters (so a lister polling now and then still sees a capture that a limit ended).
 */
export class CaptureRegistry {
  private readonly running = new Map<number, Running>();
  private readonly finished = new Map<number, CaptureInfo>();

  static readonly FINISHED_KEPT = 64;

  get(id: number): Running | undefined {
    return this.running.get(id);
  }

  values(): Running[] {
    return [...this.running.values()];
  }

  track(c: Running): void {
    this.running.set(c.id, c);
    c.done.then(
      (s) => this.finish(c, s),
      () => this.finish(c, { reason: "error" }),
    );
  }

  /** Stops one capture; its final counters stay listed. */
  async stop(id: number): Promise<CaptureStats> {
    const c = this.running.get(id);
    if (!c) throw new Error(`no capture ${id}`);
    const s = await c.stop();
    this.finish(c, s);
    return s;
  }

  list(): CaptureInfo[] {
    const live = [...this.running.values()].map((c) => infoOf(c, c.stats(), true));
    return [...live, ...this.finished.values()].sort((a, b) => a.id - b.id);
  }

  private finish(c: Running, s: Partial<CaptureStats>): void {
    if (!this.running.delete(c.id)) return;
    this.finished.set(c.id, infoOf(c, s, false));
    for (const id of this.finished.keys()) {
      if (this.finished.size <= CaptureRegistry.FINISHED_KEPT) break;
      this.finished.delete(id);
    }
  }
}

function infoOf(c: BridgeCapture, s: Partial<CaptureStats>, running: boolean): CaptureInfo {
  return {
    id: c.id,
    bridge: c.bridge,
    iface: c.iface,
    file: c.file,
    running,
    packets: s.packets ?? 0,
    bytes: s.bytes ?? 0,
    drops: s.drops ?? 0,
    fileBytes: running ? undefined : s.fileBytes,
    reason: running ? undefined : (s.reason ?? "stopped"),
  };
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
