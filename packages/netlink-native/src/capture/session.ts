// PacketCapture: one capture run by the addon's ring thread. The file (pcap/pcapng) is written
// natively; live packets come in batches (one buffer and an index), never one call per packet.
// This is the low-level handle: inputs are expected to be valid (@vmnet/capture checks them).
import { NetlinkInputError } from "../errors.js";
import { type NetnsRef, netnsPath } from "../netns.js";
import {
  captureAddon,
  type NativeCaptureOptions,
  type NativeCaptureSession,
  type NativeEndStats,
} from "./addon.js";
import {
  type BpfInstruction,
  encodeBpf,
  LINK_TYPES,
  LibpcapMissingError,
  type LinkTypeName,
  MAX_SNAPLEN,
  PcapFilterError,
} from "./bpf.js";

/** One captured packet in a batch. `data` is a view into the batch's buffer. */
export interface CapturedPacket {
  data: Buffer;
  /** Length on the wire (data may be cut to the snap length). */
  originalLength: number;
  seconds: number;
  nanoseconds: number;
  /** Interface it was seen on. */
  ifindex: number;
}

const FIELDS = 6; // offset, caplen, origlen, sec, nsec, ifindex

/** Packets handed over together: one buffer and a u32 index of six fields per packet. */
export class PacketBatch {
  readonly count: number;
  private readonly index: Uint32Array;
  constructor(
    readonly data: Buffer,
    indexBytes: Buffer,
  ) {
    // The index buffer is a fresh copy: aligned views are safe to take when its offset allows.
    this.index =
      indexBytes.byteOffset % 4 === 0
        ? new Uint32Array(indexBytes.buffer, indexBytes.byteOffset, indexBytes.length / 4)
        : new Uint32Array(Uint8Array.prototype.slice.call(indexBytes).buffer);
    this.count = this.index.length / FIELDS;
  }
  packet(i: number): CapturedPacket {
    const x = this.index;
    const b = i * FIELDS;
    const offset = x[b] as number;
    return {
      data: this.data.subarray(offset, offset + (x[b + 1] as number)),
      originalLength: x[b + 2] as number,
      seconds: x[b + 3] as number,
      nanoseconds: x[b + 4] as number,
      ifindex: x[b + 5] as number,
    };
  }
  *[Symbol.iterator](): IterableIterator<CapturedPacket> {
    for (let i = 0; i < this.count; i++) yield this.packet(i);
  }
}

export interface CaptureLimits {
  packets?: number;
  bytes?: number;
  seconds?: number;
}

export interface PacketCaptureOptions {
  netns?: NetnsRef;
  /** Interface to capture on; omitted: every interface of the netns (Ethernet framing). */
  iface?: string;
  promisc?: boolean;
  filter?: readonly BpfInstruction[];
  /** The expression the filter was compiled from (recorded in pcapng). */
  filterText?: string;
  /**
   * A pcap-filter expression, compiled when the socket opens for the interface's real link type
   * (Ethernet, or raw IP on a tun device) and as libpcap compiles for a live Linux socket (VLAN
   * tests use the kernel's tag metadata). Replaces `filter`; recorded in pcapng.
   */
  filterExpression?: string;
  /** libpcap's optimizer for `filterExpression` (default true) and its netmask (default 0). */
  filterOptimize?: boolean;
  filterNetmask?: number;
  snaplen?: number;
  file?: string;
  format?: "pcap" | "pcapng";
  overwrite?: boolean;
  limits?: CaptureLimits;
  /** "in": only packets the interface received (PACKET_IGNORE_OUTGOING). Default both. */
  direction?: "both" | "in";
  /** Ring geometry: blockSize (power of two), blocks, and how long a partly filled block waits. */
  ring?: { blockSize?: number; blocks?: number; retireMs?: number };
  /** Live packets, in batches. Without it, no packets are handed to JS at all. */
  onBatch?: (batch: PacketBatch) => void;
  /** Bytes per live batch (default 1 MiB) and how far JS may fall behind before batches drop. */
  liveBatchBytes?: number;
  liveMaxPendingBytes?: number;
}

export interface CaptureStats {
  /** Why the capture ended: asked to, a limit, or an error. */
  reason: NativeEndStats["reason"];
  /** Packets written/delivered, and their captured bytes. */
  packets: number;
  bytes: number;
  /** Packets the kernel passed through the filter (including drops). */
  received: number;
  /** Packets the kernel dropped for lack of ring space. */
  drops: number;
  /** Live batches JS was too slow for (packets; the file has them). */
  liveDrops: number;
  /** Size of the file written. */
  fileBytes: number;
  startNs: bigint;
  endNs: bigint;
}

export class PacketCapture {
  readonly done: Promise<CaptureStats>;
  private resolveDone!: (s: CaptureStats) => void;
  private rejectDone!: (e: unknown) => void;
  private linkTypeName: LinkTypeName = "ethernet";
  private index = 0;

  private constructor(private readonly session: NativeCaptureSession) {
    this.done = new Promise<CaptureStats>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Rejections are also seen through stop(); an unobserved `done` must not crash the process.
    this.done.catch(() => {});
  }

  /** Opens the socket, ring and file, and starts the ring thread. */
  static async open(options: PacketCaptureOptions): Promise<PacketCapture> {
    checkSizes(options);
    let capture: PacketCapture | undefined;
    const session = new (captureAddon().CaptureSession)(nativeOptions(options), (kind, a, b) => {
      if (kind === "batch") options.onBatch?.(new PacketBatch(a as Buffer, b as Buffer));
      else capture?.finish(a as NativeEndStats, b as NodeJS.ErrnoException | null);
    });
    capture = new PacketCapture(session);
    let info: { linktype: number; ifindex: number };
    try {
      info = await session.start();
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e?.code === "EFILTER" && options.filterExpression !== undefined)
        throw new PcapFilterError(options.filterExpression, e.message);
      if (e?.code === "ELIBPCAP") throw new LibpcapMissingError(e.message);
      throw error;
    }
    capture.index = info.ifindex;
    capture.linkTypeName = info.linktype === LINK_TYPES.raw.linktype ? "raw" : "ethernet";
    return capture;
  }

  /** Link type of the frames (ethernet, or raw IP for a tun device). */
  get linkType(): LinkTypeName {
    return this.linkTypeName;
  }
  /** Index of the interface captured on (0: every interface). */
  get ifindex(): number {
    return this.index;
  }

  /** Counters so far (kernel counters are refreshed about once a second). */
  stats(): { packets: number; bytes: number; received: number; drops: number; liveDrops: number } {
    return this.session.stats();
  }

  /**
   * Stops taking packets, writes every packet already captured, the statistics and closes the
   * file. Resolves with the final counters; rejects if the capture failed (e.g. disk full).
   */
  stop(): Promise<CaptureStats> {
    this.session.stop();
    return this.done;
  }

  private finish(stats: NativeEndStats, error: NodeJS.ErrnoException | null): void {
    const { freezes: _freezes, ...rest } = stats;
    if (error) {
      Object.assign(error, { stats: rest });
      this.rejectDone(error);
    } else {
      this.resolveDone(rest);
    }
  }
}

/** Integer sizes, checked here so nothing wraps when the addon narrows them to 32 bits. */
function checkSizes(o: PacketCaptureOptions): void {
  const within = (field: string, v: number | undefined, min: number, max: number) => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < min || v > max)
      throw new NetlinkInputError(field, `must be an integer from ${min} to ${max} (got ${v})`);
  };
  within("snaplen", o.snaplen, 1, MAX_SNAPLEN);
  within("ring.blockSize", o.ring?.blockSize, 4096, 2 ** 30);
  if (o.ring?.blockSize !== undefined && (o.ring.blockSize & (o.ring.blockSize - 1)) !== 0)
    throw new NetlinkInputError("ring.blockSize", `must be a power of two (got ${o.ring.blockSize})`);
  within("ring.blocks", o.ring?.blocks, 1, 2 ** 20);
  within("ring.retireMs", o.ring?.retireMs, 1, 60_000);
  within("limits.packets", o.limits?.packets, 1, Number.MAX_SAFE_INTEGER);
  within("limits.bytes", o.limits?.bytes, 1, Number.MAX_SAFE_INTEGER);
  within("liveBatchBytes", o.liveBatchBytes, 1, 2 ** 30);
  within("liveMaxPendingBytes", o.liveMaxPendingBytes, 1, 2 ** 31 - 1);
  if (o.limits?.seconds !== undefined && !(o.limits.seconds > 0 && o.limits.seconds <= 2 ** 31 / 1000))
    throw new NetlinkInputError(
      "limits.seconds",
      `must be > 0 and at most ${2 ** 31 / 1000} (got ${o.limits.seconds})`,
    );
}

function nativeOptions(o: PacketCaptureOptions): NativeCaptureOptions {
  return {
    ...(o.netns !== undefined && { netns: netnsPath(o.netns) }),
    ...(o.iface !== undefined && { iface: o.iface }),
    promisc: o.promisc ?? false,
    ...(o.filter !== undefined && { filter: encodeBpf(o.filter) }),
    ...(o.filterText !== undefined && { filterText: o.filterText }),
    ...(o.filterExpression !== undefined && {
      filterExpression: o.filterExpression,
      filterText: o.filterExpression,
      filterOptimize: o.filterOptimize ?? true,
      filterNetmask: (o.filterNetmask ?? 0) >>> 0,
    }),
    snaplen: o.snaplen ?? 1600,
    ...(o.file !== undefined && { file: o.file, format: o.format ?? "pcapng" }),
    overwrite: o.overwrite ?? false,
    ...(o.limits?.packets !== undefined && { limitPackets: o.limits.packets }),
    ...(o.limits?.bytes !== undefined && { limitBytes: o.limits.bytes }),
    ...(o.limits?.seconds !== undefined && { limitMs: Math.max(1, Math.round(o.limits.seconds * 1000)) }),
    ignoreOutgoing: o.direction === "in",
    ...(o.ring?.blockSize !== undefined && { blockSize: o.ring.blockSize }),
    ...(o.ring?.blocks !== undefined && { blockCount: o.ring.blocks }),
    ...(o.ring?.retireMs !== undefined && { retireMs: o.ring.retireMs }),
    live: o.onBatch !== undefined,
    ...(o.liveBatchBytes !== undefined && { liveBatchBytes: o.liveBatchBytes }),
    ...(o.liveMaxPendingBytes !== undefined && { liveMaxPending: o.liveMaxPendingBytes }),
  };
}
