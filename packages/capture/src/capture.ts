// startCapture: a capture to a pcap or pcapng file, written by the addon's ring thread (no JS on
// the per-packet path). Several may run at once, also on one interface: each has its own socket.
import { type CaptureStats as NativeStats, PacketCapture } from "@vmnet/netlink-native";
import type { z } from "zod";
import { captureErrorFrom } from "./errors.js";
import { captureOptions, check } from "./options.js";
import { nativeSource } from "./source.js";

export type CaptureOptions = z.input<typeof captureOptions>;

export interface CaptureStats {
  /** Why it ended: "stopped", a limit ("packets", "bytes", "seconds"), or "error". */
  reason: NativeStats["reason"];
  /** Packets written to the file, and their captured bytes. */
  packets: number;
  bytes: number;
  /** Packets the kernel accepted through the filter (written + dropped). */
  received: number;
  /** Packets the kernel dropped because the ring was full. */
  drops: number;
  /** Size of the capture file. */
  fileBytes: number;
  /** Wall-clock start and end (ns since the epoch). */
  startNs: bigint;
  endNs: bigint;
}

export interface Capture {
  readonly file: string;
  readonly format: "pcap" | "pcapng";
  readonly iface: string;
  /** Frames are Ethernet, or raw IP on a tun device. */
  readonly linkType: "ethernet" | "raw";
  /** Settles when the capture ends (stop(), a limit, or an error). */
  readonly done: Promise<CaptureStats>;
  /** Stops, writes every packet already captured and the statistics, closes the file. */
  stop(): Promise<CaptureStats>;
  /** Counters so far (the kernel's refreshed about once a second). */
  stats(): { packets: number; bytes: number; received: number; drops: number };
}

/**
 * Starts capturing `iface` (in `netns`) into `file`. Resolves once the socket is bound and the
 * file created (mode 0600, never replacing a file unless `overwrite`).
 */
export async function startCapture(options: CaptureOptions): Promise<Capture> {
  const o = check(captureOptions, options, "capture");
  const format = o.format ?? (o.file.endsWith(".pcap") ? "pcap" : "pcapng");
  const what = { iface: o.iface, file: o.file };
  const source = nativeSource(o);
  let pc: PacketCapture;
  try {
    pc = await PacketCapture.open({ ...source, file: o.file, format, overwrite: o.overwrite });
  } catch (error) {
    throw captureErrorFrom(error, what);
  }
  const done = pc.done.then(
    ({ liveDrops: _l, ...s }) => s,
    (error) => {
      throw captureErrorFrom(error, what);
    },
  );
  done.catch(() => {});
  return {
    file: o.file,
    format,
    iface: o.iface,
    linkType: pc.linkType,
    done,
    stop() {
      pc.stop().catch(() => {});
      return done;
    },
    stats() {
      const { liveDrops: _l, ...s } = pc.stats();
      return s;
    },
  };
}
