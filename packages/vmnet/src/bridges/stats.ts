// Bandwidth per tap, as minimega reports it (received and transmitted MB/s averaged over ten
// samples 5 s apart) but read for ALL taps from one netlink link dump per sample, not one sysfs
// read per tap.
import type { LinkStats, Rtnl } from "@vmnet/netlink-native";
import type { TapBandwidth } from "./tap.js";

interface Sample {
  at: number;
  rx: bigint | number;
  tx: bigint | number;
}

export class BandwidthSampler {
  private readonly history = new Map<string, Sample[]>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  readonly errors: Error[] = [];

  constructor(
    private readonly rtnl: Rtnl,
    readonly intervalMs = 5000,
    readonly samples = 10,
  ) {}

  start(): void {
    if (this.timer) return;
    this.sampling = this.sample();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Takes one sample now (one dump of every link's counters). */
  async sample(): Promise<void> {
    try {
      const stats = await this.rtnl.links.stats();
      this.record(stats, performance.now());
    } catch (e) {
      this.errors.push(e as Error);
    }
  }

  record(stats: Map<string, LinkStats>, at: number): void {
    for (const [name, s] of stats) {
      const list = this.history.get(name) ?? [];
      list.push({ at, rx: s.rxBytes, tx: s.txBytes });
      // samples+1 counters give `samples` intervals.
      if (list.length > this.samples + 1) list.shift();
      this.history.set(name, list);
    }
    for (const name of this.history.keys()) if (!stats.has(name)) this.history.delete(name);
  }

  /** Averaged rates of one link, or undefined before two samples exist. */
  get(name: string): TapBandwidth | undefined {
    const list = this.history.get(name);
    if (!list || list.length < 2) return undefined;
    const first = list[0] as Sample;
    const last = list[list.length - 1] as Sample;
    const seconds = (last.at - first.at) / 1000;
    if (seconds <= 0) return undefined;
    const mb = (a: bigint | number, b: bigint | number) => Number(BigInt(b) - BigInt(a)) / 1e6 / seconds;
    return { rxMBps: mb(first.rx, last.rx), txMBps: mb(first.tx, last.tx), samples: list.length - 1 };
  }
}
