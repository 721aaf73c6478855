// What the server knows between requests: the latest topology (refreshed on a timer, pushed when
// it changed), the live sampler (pushed every sample), the captures, and the metrics registry.
import type { Registry } from "prom-client";
import type { Bridges } from "../bridges/index.js";
import type { CaptureBook } from "./captures.js";
import type { LiveSample, LiveSampler } from "./live-sampler.js";
import { readTopology, type Topology } from "./topology.js";

export type Listener = (event: string, data: string) => void;

export interface ServeState {
  bridges: Bridges;
  captures: CaptureBook;
  registry: Registry;
  access: { token: string | undefined; loopbackOnly: boolean; port(): number };
  log(line: string): void;
  topologyNow(): Promise<Topology>;
  bandwidthView(): unknown;
  subscribe(listener: Listener): () => void;
}

export class LiveState {
  topology: Topology | undefined;
  version = 0;
  /** Full topology reads done (each costs OVSDB snapshots and link dumps). */
  reads = 0;
  private topologyText = "";
  private readonly listeners = new Set<Listener>();
  private refreshing: Promise<Topology> | undefined;
  private again = false;
  lastError: string | undefined;

  constructor(
    private readonly bridges: Bridges,
    private readonly sampler: LiveSampler,
    private readonly stateDir: string | undefined,
    private readonly log: (line: string) => void,
  ) {
    sampler.onSample((s) => {
      this.pushSample(s);
      this.watchLinks(s);
    });
  }

  private linkSignature = "";
  private followUps = 0;

  /**
   * A full topology read costs OVSDB snapshots and link dumps (most of the server's CPU with 1000
   * taps), so the timer runs it rarely; but the sampler's dump already lists every link, so a tap
   * created or destroyed shows up at the next sample: then the topology is read at once, and again
   * at the next sample (the OVSDB row and the kernel link are not made in the same instant).
   */
  private watchLinks(sample: LiveSample): void {
    let signature = String(sample.stats.size);
    for (const name of sample.stats.keys()) signature += `,${name}`;
    if (signature !== this.linkSignature) {
      this.linkSignature = signature;
      this.followUps = 2;
    }
    if (this.followUps > 0) {
      this.followUps--;
      void this.refresh().catch(() => {});
    }
  }

  /** Reads the topology again (one read at a time), and pushes it when it changed. */
  refresh(): Promise<Topology> {
    // A change that arrives during a read may have missed it: read once more after.
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.reads++;
    this.refreshing = readTopology(this.bridges, this.stateDir)
      .then((t) => {
        const text = JSON.stringify(t);
        if (text !== this.topologyText) {
          this.topology = t;
          this.topologyText = text;
          this.version++;
          this.broadcast("topology", this.topologyEvent());
        }
        this.lastError = undefined;
        return t;
      })
      .catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        if (message !== this.lastError) this.log(`vmnet serve: reading the topology: ${message}`);
        this.lastError = message;
        throw e;
      })
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          void this.refresh().catch(() => {});
        }
      });
    return this.refreshing;
  }

  private topologyEvent(): string {
    return `{"version":${this.version},"sentAt":${Date.now()},"topology":${this.topologyText}}`;
  }

  /** Per-tap rates of the latest sample, as the page and /api/bandwidth show them. */
  bandwidth(sample: LiveSample | undefined = this.sampler.latest) {
    const taps: [name: string, rxBps: number, txBps: number][] = [];
    if (sample && this.topology)
      for (const t of this.topology.taps) {
        const r = sample.rates.get(t.name);
        if (r) taps.push([t.name, Math.round(r.rxBps), Math.round(r.txBps)]);
      }
    return { sampledAt: sample?.sampledAt, intervalMs: this.sampler.intervalMs, taps };
  }

  private pushSample(sample: LiveSample): void {
    if (this.listeners.size === 0) return;
    const data = JSON.stringify({ ...this.bandwidth(sample), sentAt: Date.now() });
    this.broadcast("bandwidth", data);
  }

  private broadcast(event: string, data: string): void {
    for (const l of this.listeners) l(event, data);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.topology) listener("topology", this.topologyEvent());
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
