// Live capture as async iterables: packets() yields decoded frames one by one, batches() the
// native batches (one buffer and an index each) for consumers that count or copy in bulk. JS is
// handed batches, never one callback per packet; breaking out of the loop stops the capture.
import { type CapturedPacket, PacketBatch, PacketCapture } from "@vmnet/netlink-native";
import type { z } from "zod";
import type { CaptureStats } from "./capture.js";
import { type DecodedFrame, decodeFrame } from "./decode/frame.js";
import { captureErrorFrom } from "./errors.js";
import { check, liveOptions } from "./options.js";
import { nativeSource } from "./source.js";

export type LiveOptions = z.input<typeof liveOptions>;

export interface LivePacket extends CapturedPacket {
  /** The frame decoded (absent with decode: false). */
  frame?: DecodedFrame;
}

export interface LiveCaptureStats extends Omit<CaptureStats, "fileBytes"> {
  /** Packets dropped because JS did not read them fast enough. */
  liveDrops: number;
}

/** A running live capture: iterate it (once), or stop it. */
export interface LiveCapture<T> extends AsyncIterable<T> {
  /** Ends the iteration after the packets already captured; resolves with final counters. */
  stop(): Promise<LiveCaptureStats>;
  readonly linkType: Promise<"ethernet" | "raw">;
}

/** Live batches as the ring thread hands them over. */
export function batches(options: LiveOptions): LiveCapture<PacketBatch> {
  const o = check(liveOptions, options, "live");
  const source = nativeSource(o);
  const what = { iface: o.iface };
  const queue: PacketBatch[] = [];
  let queuedBytes = 0;
  let jsDrops = 0;
  let waiter: (() => void) | undefined;
  let ended = false;
  let failure: unknown;
  let finalStats: LiveCaptureStats | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const opened = PacketCapture.open({
    ...source,
    onBatch(batch) {
      if (queuedBytes + batch.data.length > o.maxQueuedBytes) {
        jsDrops += batch.count;
        return;
      }
      queue.push(batch);
      queuedBytes += batch.data.length;
      wake();
    },
  });
  const done: Promise<LiveCaptureStats> = opened.then(
    (pc) =>
      pc.done.then(({ fileBytes: _f, ...s }) => {
        finalStats = { ...s, liveDrops: s.liveDrops + jsDrops };
        return finalStats;
      }),
    (error) => Promise.reject(error),
  );
  done.then(
    () => {
      ended = true;
      wake();
    },
    (error) => {
      failure = captureErrorFrom(error, what);
      ended = true;
      wake();
    },
  );
  const stop = async (): Promise<LiveCaptureStats> => {
    try {
      const pc = await opened;
      await pc.stop();
    } catch {
      // reported through `done` below
    }
    try {
      return await done;
    } catch (error) {
      throw captureErrorFrom(error, what);
    }
  };
  const onAbort = () => void stop().catch(() => {});
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.signal?.aborted) onAbort();
  let iterating = false;
  const linkType = opened.then(
    (pc) => pc.linkType,
    (error) => Promise.reject(captureErrorFrom(error, what)),
  );
  linkType.catch(() => {}); // a failed start is reported to whoever iterates or awaits
  return {
    linkType,
    stop,
    [Symbol.asyncIterator](): AsyncIterator<PacketBatch> {
      if (iterating) throw new Error("a live capture can be iterated only once");
      iterating = true;
      return {
        async next(): Promise<IteratorResult<PacketBatch>> {
          for (;;) {
            const b = queue.shift();
            if (b) {
              queuedBytes -= b.data.length;
              return { value: b, done: false };
            }
            if (ended) {
              o.signal?.removeEventListener("abort", onAbort);
              if (failure) throw failure;
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => {
              waiter = resolve;
            });
          }
        },
        async return(): Promise<IteratorResult<PacketBatch>> {
          o.signal?.removeEventListener("abort", onAbort);
          await stop().catch(() => {});
          queue.length = 0;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/**
 * Live packets, decoded: `for await (const p of packets({ iface: "eth0", filter: "arp" }))`.
 * Limits end the loop by themselves; `break` (or the signal) stops the capture.
 */
export function packets(options: LiveOptions): LiveCapture<LivePacket> {
  const decode = options.decode ?? true;
  const inner = batches(options);
  return {
    linkType: inner.linkType,
    stop: inner.stop,
    async *[Symbol.asyncIterator]() {
      const link = await inner.linkType;
      for await (const batch of inner) {
        for (const p of batch) {
          yield decode ? { ...p, frame: decodeFrame(p.data, link) } : p;
        }
      }
    },
  };
}

export { PacketBatch };
