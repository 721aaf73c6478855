// Units as tc writes them. Strings are parsed the way iproute2's tc parses its arguments (same
// suffixes, same case-insensitivity, same truncation of the double it computes), so "10mbit" here
// and on a tc command line become the same bytes. Numbers are taken in the unit the kernel and tc
// use internally: bytes per second, bytes, microseconds, percent points.
import { TcInputError } from "./errors.js";

/** A rate: `"10mbit"`, `"1.5gbit"`, `"125kbps"` (kilobytes/s), or a number of bytes per second. */
export type Rate = string | number;
/** A size: `"32kb"`, `"1mb"`, `"1500"` (bytes), or a number of bytes. */
export type Size = string | number;
/** A time: `"50ms"`, `"1.5s"`, `"250us"`, `"100ns"`, or a number of microseconds. */
export type Time = string | number;
/** A probability: `"1%"`, `"0.3%"`, `"25"` (percent), or a number of percent points (0-100). */
export type Percent = string | number;

const NUMBER = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(.*)$/;

/** Splits "10mbit" into 10 and "mbit", as strtod() would stop before the suffix. */
function split(field: string, input: string): { value: number; suffix: string } {
  const m = NUMBER.exec(input);
  if (!m) throw new TcInputError(field, `"${input}" does not start with a number`);
  const value = Number(m[1]);
  if (!Number.isFinite(value)) throw new TcInputError(field, `"${input}" is not a finite number`);
  if (value < 0) throw new TcInputError(field, `"${input}" must not be negative`);
  return { value, suffix: m[2] ?? "" };
}

// tc's rate suffixes (lib/utils.c), in bits per second; matched case-insensitively, whole suffix.
const RATE_SUFFIXES: [string, number][] = [
  ["bit", 1],
  ["kibit", 1024],
  ["kbit", 1000],
  ["mibit", 1024 * 1024],
  ["mbit", 1000000],
  ["gibit", 1024 * 1024 * 1024],
  ["gbit", 1000000000],
  ["tibit", 1024 * 1024 * 1024 * 1024],
  ["tbit", 1000000000000],
  ["bps", 8],
  ["kibps", 8 * 1024],
  ["kbps", 8000],
  ["mibps", 8 * 1024 * 1024],
  ["mbps", 8000000],
  ["gibps", 8 * 1024 * 1024 * 1024],
  ["gbps", 8000000000],
  ["tibps", 8 * 1024 * 1024 * 1024 * 1024],
  ["tbps", 8000000000000],
];

/** Largest rate the 64-bit attributes carry, kept within exact JS integers. */
export const MAX_RATE = Number.MAX_SAFE_INTEGER;

/**
 * A rate in bytes per second. A string without a unit is bits per second (as in tc); "Bps" units
 * are bytes per second, "bit" units bits per second; k/m/g/t are powers of 1000, ki/mi/gi/ti of 1024.
 */
export function parseRate(input: Rate, field = "rate"): number {
  if (typeof input === "number") return checkedInteger(field, input, MAX_RATE, "bytes per second");
  if (input.includes("%")) {
    throw new TcInputError(
      field,
      `"${input}" is a share of the link speed, which veth, tap and ifb links do not report; give an absolute rate such as "10mbit"`,
    );
  }
  const { value, suffix } = split(field, input);
  let bits = value;
  if (suffix !== "") {
    const unit = RATE_SUFFIXES.find(([name]) => name === suffix.toLowerCase());
    if (!unit) {
      throw new TcInputError(
        field,
        `"${input}" has an unknown unit "${suffix}" (use bit, kbit, mbit, gbit, tbit, kibit, ... for bits/s or Bps, KBps, MBps, GBps, KiBps, ... for bytes/s)`,
      );
    }
    bits *= unit[1];
  }
  const bytes = Math.trunc(bits / 8);
  if (bytes > MAX_RATE) throw new TcInputError(field, `"${input}" is too large`);
  return bytes;
}

// tc's size suffixes: k/m/g are powers of 1024 bytes; kbit/mbit/gbit are those in bits.
const SIZE_SUFFIXES: [string, number][] = [
  ["kb", 1024],
  ["k", 1024],
  ["mb", 1024 * 1024],
  ["m", 1024 * 1024],
  ["gb", 1024 * 1024 * 1024],
  ["g", 1024 * 1024 * 1024],
  ["kbit", 1024 / 8],
  ["mbit", (1024 * 1024) / 8],
  ["gbit", (1024 * 1024 * 1024) / 8],
  ["b", 1],
];

/** A size in bytes (32-bit, as the kernel's structs hold it). A string without a unit is bytes. */
export function parseSize(input: Size, field = "size"): number {
  if (typeof input === "number") return checkedInteger(field, input, 0xffffffff, "bytes");
  const { value, suffix } = split(field, input);
  let bytes = value;
  if (suffix !== "") {
    const unit = SIZE_SUFFIXES.find(([name]) => name === suffix.toLowerCase());
    if (!unit) {
      throw new TcInputError(
        field,
        `"${input}" has an unknown unit "${suffix}" (use b, kb, mb, gb, k, m, g, kbit, mbit or gbit)`,
      );
    }
    bytes *= unit[1];
  }
  const out = Math.trunc(bytes);
  if (out > 0xffffffff) throw new TcInputError(field, `"${input}" does not fit 32 bits (at most 4gb)`);
  return out;
}

/** tc's "SIZE[/CELL]" (burst, mtu): the size and, when given, log2 of the cell size. */
export function parseSizeAndCell(input: Size, field = "size"): { bytes: number; cellLog?: number } {
  if (typeof input === "number") return { bytes: parseSize(input, field) };
  const slash = input.indexOf("/");
  if (slash < 0) return { bytes: parseSize(input, field) };
  const bytes = parseSize(input.slice(0, slash), field);
  const cellText = input.slice(slash + 1);
  const cell = /^\d+$/.test(cellText) ? Number(cellText) : Number.NaN;
  const cellLog = Math.log2(cell);
  if (!Number.isInteger(cellLog) || cellLog < 0 || cellLog > 31) {
    throw new TcInputError(field, `"${input}": the cell size after "/" must be a power of two`);
  }
  return { bytes, cellLog };
}

/** A time as tc's 32-bit fields take it (whole microseconds) and as the 64-bit ones do (ns). */
export interface Duration {
  /** Whole microseconds, truncated as tc's get_time() does. */
  usec: number;
  /** Nanoseconds, truncated as tc's get_time64() does. */
  nsec: number;
}

const TIME_SUFFIXES: [string[], number][] = [
  [["s", "sec", "secs"], 1e6],
  [["ms", "msec", "msecs"], 1e3],
  [["us", "usec", "usecs"], 1],
  [["ns", "nsec", "nsecs"], 1e-3],
];

/** A time. A string or number without a unit is microseconds (tc's time unit). */
export function parseTime(input: Time, field = "time"): Duration {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0)
      throw new TcInputError(field, "must be a non-negative number of microseconds");
    return { usec: Math.trunc(input), nsec: Math.round(input * 1000) };
  }
  const { value, suffix } = split(field, input);
  let usScale = 1;
  if (suffix !== "") {
    const unit = TIME_SUFFIXES.find(([names]) => names.includes(suffix.toLowerCase()));
    if (!unit) {
      throw new TcInputError(field, `"${input}" has an unknown unit "${suffix}" (use s, ms, us or ns)`);
    }
    usScale = unit[1];
  }
  // tc multiplies the parsed double by the unit's scale and truncates, once per target unit; doing
  // the same (instead of converting one result into the other) keeps the rounding identical.
  const usec = Math.trunc(usScale >= 1 ? value * usScale : value / 1000);
  const nsec = Math.trunc(usScale >= 1 ? value * usScale * 1000 : value);
  if (nsec > Number.MAX_SAFE_INTEGER) throw new TcInputError(field, `"${input}" is too large`);
  return { usec, nsec };
}

/** A probability as a fraction 0..1. "1%" and "1" both mean one percent, as in tc. */
export function parsePercent(input: Percent, field = "percent"): number {
  let points: number;
  if (typeof input === "number") {
    points = input;
  } else {
    const { value, suffix } = split(field, input);
    if (suffix !== "" && suffix !== "%") {
      throw new TcInputError(field, `"${input}" must be a percentage such as "1%" or "0.5%"`);
    }
    points = value;
  }
  if (!Number.isFinite(points) || points < 0 || points > 100) {
    throw new TcInputError(field, `${JSON.stringify(input)} must be between 0% and 100%`);
  }
  return points / 100;
}

/** Rounds half to even, as C's rint() does in the default rounding mode. */
export function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A fraction 0..1 scaled to the kernel's 32-bit probability (0xffffffff = 100%). */
export function probabilityToU32(fraction: number): number {
  return rint(fraction * 0xffffffff);
}

/** The kernel's 32-bit probability back to percent points, rounded to 1e-6 (the scale's grain). */
export function u32ToPercent(value: number): number {
  return Math.round((value / 0xffffffff) * 100 * 1e6) / 1e6;
}

function checkedInteger(field: string, v: number, max: number, unit: string): number {
  if (!Number.isInteger(v) || v < 0) throw new TcInputError(field, `must be a whole number of ${unit}`);
  if (v > max) throw new TcInputError(field, `must be at most ${max} ${unit}`);
  return v;
}

/** Bytes per second as tc prints a rate: "10Mbit", "1500Kbit", "64bit" (integer steps, as tc). */
export function formatRate(bytesPerSecond: number): string {
  let bits = bytesPerSecond * 8;
  const units = ["", "K", "M", "G", "T"];
  let i = 0;
  for (; i < units.length - 1; i++) {
    if (bits < 1000) break;
    if (bits % 1000 !== 0 && bits < 1000 * 1000) break;
    bits = Math.floor(bits / 1000);
  }
  return `${bits}${units[i]}bit`;
}

/** Bytes as tc prints a size: "32Kb", "1Mb", "1600b". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && Math.abs(1024 * 1024 * rint(bytes / (1024 * 1024)) - bytes) < 1024)
    return `${rint(bytes / (1024 * 1024))}Mb`;
  if (bytes >= 1024 && Math.abs(1024 * rint(bytes / 1024) - bytes) < 16) return `${rint(bytes / 1024)}Kb`;
  return `${bytes}b`;
}

/** Microseconds as tc prints a time: "1.5s", "50ms", "250us". */
export function formatTime(usec: number): string {
  if (usec >= 1e6) return `${trimZero((usec / 1e6).toFixed(1))}s`;
  if (usec >= 1e3) return `${trimZero((usec / 1e3).toFixed(1))}ms`;
  return `${Math.round(usec)}us`;
}

function trimZero(s: string): string {
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}
