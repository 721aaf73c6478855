// Event-loop delay split into what the process did and what the machine did to it. Node's
// monitorEventLoopDelay() measures how late a 1 ms timer fires; on a shared machine much of that
// lateness is time the event-loop thread was ready to run but waited for a core (other processes,
// or our own pool threads). The kernel counts that wait per thread (schedstat's run_delay), so
// each gap can be split: `self` = gap minus that wait = the loop's own work (JS, GC, a blocking
// system call), which is what a library can answer for at any machine load.
import { readFileSync } from "node:fs";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

export interface LoopDelaySummary {
  /** p99 of the time between 1 ms ticks (ms): what monitorEventLoopDelay reports, plus the tick. */
  wallP99: number;
  /** p99 of the same gaps minus the time the loop thread waited for a core (ms). */
  selfP99: number;
  wallMax: number;
  selfMax: number;
  /** Ticks observed. */
  samples: number;
  /** Total time the loop thread was ready but waited for a core while monitored (ms). */
  runQueueWaitMs: number;
}

/** The event-loop thread's accumulated run-queue wait in ns, or undefined without schedstat. */
function runQueueWaitNs(path: string): number | undefined {
  try {
    return Number(readFileSync(path, "utf8").split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Samples the event loop every millisecond until stop(). Linux only (reads
 * /proc/self/task/<pid>/schedstat; without it, `self` equals the wall gap).
 */
export class LoopDelayMonitor {
  private readonly wall: RecordableHistogram = createHistogram();
  private readonly self: RecordableHistogram = createHistogram();
  private readonly path = `/proc/self/task/${process.pid}/schedstat`;
  private timer: NodeJS.Timeout | undefined;
  private waitedNs = 0;

  start(): this {
    if (this.timer) return this;
    let last = process.hrtime.bigint();
    let lastWait = runQueueWaitNs(this.path);
    this.timer = setInterval(() => {
      const now = process.hrtime.bigint();
      const wait = runQueueWaitNs(this.path);
      const gap = Number(now - last);
      const waited = wait !== undefined && lastWait !== undefined ? Math.max(0, wait - lastWait) : 0;
      this.waitedNs += waited;
      this.wall.record(Math.max(1, gap));
      this.self.record(Math.max(1, gap - waited));
      last = now;
      lastWait = wait;
    }, 1);
    return this;
  }

  stop(): LoopDelaySummary {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const ms = (ns: number) => ns / 1e6;
    return {
      wallP99: ms(this.wall.percentile(99)),
      selfP99: ms(this.self.percentile(99)),
      wallMax: ms(this.wall.max),
      selfMax: ms(this.self.max),
      samples: this.wall.count,
      runQueueWaitMs: ms(this.waitedNs),
    };
  }
}
