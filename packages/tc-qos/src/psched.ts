// The packet scheduler's clock, as /proc/net/psched describes it. tc expresses times in "ticks"
// (tc_core.c): tick_in_usec = t2us / us2t * clock_factor. On current kernels that is 1000/64 =
// 15.625 ticks per microsecond (a tick is 64 ns), but it is read, not assumed, as tc does.
import { readFileSync } from "node:fs";

export interface Psched {
  /** Ticks per microsecond. */
  tickInUsec: number;
  /** Kernel clock resolution per microsecond (1 when the kernel reports 1 000 000). */
  clockFactor: number;
  /** What tc's get_hz() returns: the fourth field when the third is 1 000 000. */
  hz: number;
}

const TIME_UNITS_PER_SEC = 1_000_000;

/** Interprets the four hex fields of /proc/net/psched the way tc_core_init() and get_hz() do. */
export function pschedFromText(text: string): Psched {
  const fields = text
    .trim()
    .split(/\s+/)
    .map((f) => Number.parseInt(f, 16));
  if (fields.length < 3 || fields.slice(0, 3).some((f) => !Number.isFinite(f) || f <= 0)) {
    throw new Error(`/proc/net/psched: cannot parse ${JSON.stringify(text)}`);
  }
  let [t2us = 1, us2t = 1, clockRes = 1] = fields;
  const fourth = fields[3] ?? 0;
  // The kernel advertises a multiplier of 1000 for nanosecond resolution, "which really is 1".
  if (clockRes === 1_000_000_000) t2us = us2t;
  const clockFactor = clockRes / TIME_UNITS_PER_SEC;
  return {
    tickInUsec: (t2us / us2t) * clockFactor,
    clockFactor,
    hz: clockRes === 1_000_000 && fourth > 0 ? fourth : 100,
  };
}

/** What every kernel since 2.6.31 reports (64 ns ticks, 1 GHz "HZ"): used if the file is missing. */
export const DEFAULT_PSCHED: Psched = pschedFromText("000003e8 00000040 000f4240 3b9aca00");

let cached: Psched | undefined;

/** This machine's scheduler clock (read once; the file is the same in every network namespace). */
export function systemPsched(): Psched {
  if (!cached) {
    try {
      cached = pschedFromText(readFileSync("/proc/net/psched", "utf8"));
    } catch {
      cached = DEFAULT_PSCHED;
    }
  }
  return cached;
}

/** C's conversion of a double to unsigned int, as tc's helpers (with unsigned parameters) do. */
export function toU32(x: number): number {
  if (!(x > 0)) return 0;
  return Math.trunc(x) % 0x100000000;
}

/** Microseconds to ticks (tc_core_time2tick: unsigned in, unsigned out). */
export function timeToTicks(usec: number, p: Psched): number {
  return toU32(toU32(usec) * p.tickInUsec);
}

/** Ticks to microseconds (tc_core_tick2time). */
export function ticksToTime(ticks: number, p: Psched): number {
  return toU32(ticks / p.tickInUsec);
}

/** True when a time in microseconds does not fit 32-bit ticks (tc_core_time2big). */
export function timeTooBigForTicks(usec: number, p: Psched): boolean {
  return Math.trunc(toU32(usec) * p.tickInUsec) > 0xffffffff;
}

/** Ticks needed to send `size` bytes at `rate` bytes/s (tc_calc_xmittime). */
export function xmitTime(rate: number, size: number, p: Psched): number {
  return timeToTicks(TIME_UNITS_PER_SEC * (size / rate), p);
}

/** Bytes sent at `rate` bytes/s during `ticks` (tc_calc_xmitsize). */
export function xmitSize(rate: number, ticks: number, p: Psched): number {
  return toU32((rate * ticksToTime(ticks, p)) / TIME_UNITS_PER_SEC);
}
