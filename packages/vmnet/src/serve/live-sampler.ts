// The bandwidth sampler the CLI uses (one link dump per sample for every link), extended to tell
// listeners about each sample: the page's plots and /metrics read the same counters.
import type { LinkStats, Rtnl } from "@vmnet/netlink-native";
import { BandwidthSampler } from "../bridges/index.js";

export interface TapRate {
  /** Bytes per second the tap received (what the VM sent) since the previous sample. */
  rxBps: number;
  /** Bytes per second the tap transmitted (toward the VM). */
  txBps: number;
}

export interface LiveSample {
  /** Wall-clock time (ms since the epoch) the dump came back. */
  sampledAt: number;
  /** Every link's counters in that dump. */
  stats: Map<string, LinkStats>;
  /** Per-link rates since the previous sample (links seen in both). */
  rates: Map<string, TapRate>;
}

export class LiveSampler extends BandwidthSampler {
  private previous: { at: number; stats: Map<string, LinkStats> } | undefined;
  private readonly listeners = new Set<(s: LiveSample) => void>();
  latest: LiveSample | undefined;
  /** Samples taken, and the time the last dump took (ms). */
  count = 0;
  lastDumpMs = 0;

  constructor(rtnl: Rtnl, intervalMs: number) {
    super(rtnl, intervalMs, 10);
  }

  onSample(listener: (s: LiveSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  override async sample(): Promise<void> {
    const t0 = performance.now();
    await super.sample();
    this.lastDumpMs = performance.now() - t0;
  }

  override record(stats: Map<string, LinkStats>, at: number): void {
    super.record(stats, at);
    const rates = new Map<string, TapRate>();
    const prev = this.previous;
    if (prev && at > prev.at) {
      const seconds = (at - prev.at) / 1000;
      for (const [name, s] of stats) {
        const p = prev.stats.get(name);
        if (!p) continue;
        // A counter that went backwards means the link was re-created: no rate for this sample.
        if (s.rxBytes < p.rxBytes || s.txBytes < p.txBytes) continue;
        rates.set(name, {
          rxBps: Number(s.rxBytes - p.rxBytes) / seconds,
          txBps: Number(s.txBytes - p.txBytes) / seconds,
        });
      }
    }
    this.previous = { at, stats };
    this.count++;
    const sample: LiveSample = { sampledAt: Date.now(), stats, rates };
    this.latest = sample;
    for (const l of this.listeners) l(sample);
  }
}
