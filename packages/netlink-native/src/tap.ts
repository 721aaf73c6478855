// TAP/TUN devices in any netns. The fds are plain numbers: pass them to a child process (qemu
// `-netdev tap,fd=N` with the fd in `stdio`), read/write them with node:fs, and close them with
// close() when done. A non-persistent device disappears with its last fd.
import { z } from "zod";
import { fromNative, NetlinkNativeError } from "./errors.js";
import { InFlightGate } from "./in-flight-gate.js";
import { native } from "./native.js";
import { isPathOnly, type NetnsRef, netnsPath } from "./netns.js";
import { turnStart } from "./turn-clock.js";
import { TurnPacer } from "./turn-pacer.js";
import { check, ifName, isPlainIfName, isPlainObject, netnsRef } from "./validate.js";

export const tapOptions = z
  .object({
    name: ifName.optional(),
    netns: netnsRef.optional(),
    mode: z.enum(["tap", "tun"]).default("tap"),
    vnetHdr: z.boolean().default(false),
    queues: z.number().int().min(1, "must be 1-256").max(256, "must be 1-256").default(1),
    persist: z.boolean().default(false),
    owner: z.number().int("must be an integer").min(0, "must be a uid >= 0").max(0x7fffffff).optional(),
    group: z.number().int("must be an integer").min(0, "must be a gid >= 0").max(0x7fffffff).optional(),
  })
  .strict();
export type TapOptions = z.input<typeof tapOptions>;
type ParsedTapOptions = z.output<typeof tapOptions>;

const isTapOwner = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0x7fffffff;

/**
 * The usual options checked by hand (the same rules; the schema's defaults applied), or
 * undefined for anything the schema must look at (and name the field of, when it is wrong). A
 * storm of a thousand TAPs ran the schema a thousand times: 1.3 KiB of garbage per TAP.
 */
export function plainTapOptions(input: unknown): ParsedTapOptions | undefined {
  if (!isPlainObject(input)) return undefined;
  const out: ParsedTapOptions = { mode: "tap", vnetHdr: false, queues: 1, persist: false };
  for (const k in input) {
    const v = input[k];
    if (k === "name") {
      if (!isPlainIfName(v)) return undefined;
      out.name = v;
    } else if (k === "netns") {
      // Any non-empty name or path, or { path } (netnsPath checks it further, naming "tap.netns").
      if ((typeof v !== "string" || v.length === 0) && !isPathOnly(v)) return undefined;
      out.netns = v as ParsedTapOptions["netns"];
    } else if (k === "mode") {
      if (v !== "tap" && v !== "tun") return undefined;
      out.mode = v;
    } else if (k === "vnetHdr" || k === "persist") {
      if (typeof v !== "boolean") return undefined;
      out[k] = v;
    } else if (k === "queues") {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 256) return undefined;
      out.queues = v as number;
    } else if (k === "owner" || k === "group") {
      if (!isTapOwner(v)) return undefined;
      out[k] = v;
    } else return undefined;
  }
  return out;
}

/**
 * TAP opens and closes admitted per event-loop turn: a thousand started at once validate their
 * options and queue their pool work at most 64 per turn and while the turn's time budget lasts,
 * so timers and I/O run between slices (and at most TAP_JOBS_IN_FLIGHT at a time, below).
 */
const tapPacer = new TurnPacer(64);

/**
 * At most this many TAP opens and closes on libuv's pool at once. Each takes the kernel's RTNL lock, and
 * the threads waiting for it spin while its holder runs: with all four pool threads at it, both
 * cores were busy and the event loop waited a scheduler tick (4 ms here) for one, several times a
 * storm. Eight keep the pool fed (a finished job's successor is already queued).
 */
const TAP_JOBS_IN_FLIGHT = 8;
let tapJobs = 0;
const tapGate = new InFlightGate(
  TAP_JOBS_IN_FLIGHT,
  () => tapJobs,
  () => true,
  tapPacer,
  turnStart,
  TAP_JOBS_IN_FLIGHT - 1,
);
const tapJobDone = () => {
  tapJobs--;
  tapGate.answered();
};

export interface Tap {
  /** The kernel's name for the device (given, or picked like tap0). */
  name: string;
  /** Its ifindex in the netns it was opened in. */
  index: number;
  /** One fd per queue. */
  fds: number[];
  /**
   * Closes every fd on libuv's pool (the kernel unregisters a non-persistent device inside the
   * last close(), which waits for an RCU grace period); resolves when the device is gone.
   */
  close(): Promise<void>;
  /** Clears IFF_PERSIST so the device goes with its last fd. */
  unpersist(): void;
  /**
   * Sets IFF_PERSIST so the device outlives its fds. Open without `persist`, mark the device, then
   * persist it: a process killed in between leaves nothing behind (the kernel removes a
   * non-persistent device with its last fd), so no unmarked device can outlive a crash.
   */
  persist(): void;
}

/**
 * Opens (creating if needed) a TAP/TUN device. The work runs off the event loop; bad options
 * reject with a NetlinkInputError naming the field, kernel refusals with the errno.
 */
export async function openTap(options: TapOptions = {}): Promise<Tap> {
  await tapPacer.admit(tapGate.arriving);
  const o = plainTapOptions(options) ?? check(tapOptions, options, "tap");
  const path = o.netns === undefined ? undefined : netnsPath(o.netns as NetnsRef, "tap.netns");
  let opened: { name: string; index: number; fds: number[] };
  try {
    // Fields set one by one (no spread of an optional object per option).
    const request: Parameters<ReturnType<typeof native>["openTap"]>[0] = {
      tun: o.mode === "tun",
      vnetHdr: o.vnetHdr,
      queues: o.queues,
      persist: o.persist,
    };
    if (o.name !== undefined) request.name = o.name;
    if (path !== undefined) request.netns = path;
    if (o.owner !== undefined) request.owner = o.owner;
    if (o.group !== undefined) request.group = o.group;
    tapJobs++;
    try {
      opened = await native().openTap(request);
    } finally {
      tapJobDone();
    }
  } catch (e) {
    throw fromNative(e, `open tap${o.name ? ` "${o.name}"` : ""}`, path);
  }
  let open = true;
  let closing: Promise<void> | undefined;
  const setPersist = (on: boolean) => {
    const fd = opened.fds[0];
    if (fd === undefined || !open) {
      if (on) throw new NetlinkNativeError(`persist tap "${opened.name}": the tap is closed`);
      return;
    }
    try {
      native().setTapPersist(fd, on);
    } catch (e) {
      throw fromNative(e, `${on ? "persist" : "unpersist"} tap "${opened.name}"`);
    }
  };
  return {
    name: opened.name,
    index: opened.index,
    fds: opened.fds,
    close() {
      if (closing) return closing;
      open = false;
      // Paced like opens: a thousand closes started at once queue their pool work a slice per
      // turn (queueing each costs the loop a few microseconds; a thousand at once, several ms).
      closing = tapPacer
        .admit(tapGate.arriving)
        .then(() => {
          tapJobs++;
          return native().closeFds(opened.fds).finally(tapJobDone);
        })
        .catch((e: unknown) => {
          throw fromNative(e, `close tap "${opened.name}"`);
        });
      // Callers that do not wait for the close (it used to be synchronous) must not get an
      // unhandled rejection; callers that await it still see the error.
      closing.catch(() => undefined);
      return closing;
    },
    unpersist() {
      setPersist(false);
    },
    persist() {
      setPersist(true);
    },
  };
}
