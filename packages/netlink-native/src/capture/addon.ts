// The capture part of the addon, typed. Kept apart from ../native.ts (which describes the rest)
// so that the two can change independently.
import { native } from "../native.js";

/** Options of the native CaptureSession (already validated by the caller). */
export interface NativeCaptureOptions {
  netns?: string;
  iface?: string;
  promisc?: boolean;
  /** struct sock_filter[] (8 bytes each, host byte order). */
  filter?: Buffer;
  /** The expression the filter came from, recorded in pcapng interface blocks. */
  filterText?: string;
  /** Compiled at start for the link's real type, as libpcap does for a live socket. */
  filterExpression?: string;
  filterOptimize?: boolean;
  filterNetmask?: number;
  snaplen?: number;
  blockSize?: number;
  blockCount?: number;
  retireMs?: number;
  ignoreOutgoing?: boolean;
  file?: string;
  format?: "pcap" | "pcapng";
  overwrite?: boolean;
  fileBuffer?: number;
  limitPackets?: number;
  limitBytes?: number;
  limitMs?: number;
  live?: boolean;
  liveBatchBytes?: number;
  liveMaxPending?: number;
}

/** Final counters, as the ring thread reports them. */
export interface NativeEndStats {
  reason: "stopped" | "packets" | "bytes" | "seconds" | "error";
  packets: number;
  bytes: number;
  received: number;
  drops: number;
  freezes: number;
  liveDrops: number;
  fileBytes: number;
  startNs: bigint;
  endNs: bigint;
}

export type NativeCaptureEvent = (
  kind: "batch" | "end",
  a: Buffer | NativeEndStats,
  b: Buffer | NodeJS.ErrnoException | null,
) => void;

export interface NativeCaptureSession {
  start(): Promise<{ linktype: number; ifindex: number }>;
  stop(): void;
  stats(): { packets: number; bytes: number; received: number; drops: number; liveDrops: number };
}

export interface CaptureAddon {
  compileFilter(
    expression: string,
    dlt: number,
    snaplen: number,
    optimize: boolean,
    netmask: number,
    libraries?: string[],
  ): Buffer;
  libpcapLoadedFrom(): string | undefined;
  CaptureSession: new (options: NativeCaptureOptions, onEvent: NativeCaptureEvent) => NativeCaptureSession;
}

export function captureAddon(): CaptureAddon {
  return native() as unknown as CaptureAddon;
}
