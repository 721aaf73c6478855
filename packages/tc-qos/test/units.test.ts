// Units parsed as tc parses them (lib/utils.c, tc_util.c, tc_core.c), and the scheduler clock.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { TcInputError } from "../src/errors.js";
import {
  DEFAULT_PSCHED,
  pschedFromText,
  ticksToTime,
  timeToTicks,
  xmitSize,
  xmitTime,
} from "../src/psched.js";
import { rateTable } from "../src/rate-table.js";
import {
  formatRate,
  formatSize,
  formatTime,
  parsePercent,
  parseRate,
  parseSize,
  parseSizeAndCell,
  parseTime,
  probabilityToU32,
  rint,
  u32ToPercent,
} from "../src/units.js";

function fieldError(fn: () => unknown): TcInputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TcInputError) return e;
    throw e;
  }
  throw new Error("expected a TcInputError");
}

describe("rates", () => {
  test.each([
    ["10mbit", 1_250_000],
    ["1.5gbit", 187_500_000],
    ["125kbps", 125_000],
    ["1000", 125],
    ["1kibit", 128],
    ["8bit", 1],
    ["1MBps", 1_000_000],
    ["2MiBps", 2 * 1024 * 1024],
    ["40gbit", 5_000_000_000],
    ["1tbit", 125_000_000_000],
    ["10MBIT", 1_250_000],
    ["100kbit", 12_500],
    ["7bit", 0],
  ])("%s is %d bytes/s", (text, bytes) => {
    expect(parseRate(text)).toBe(bytes);
  });

  test("numbers are bytes per second", () => {
    expect(parseRate(1_250_000)).toBe(1_250_000);
  });

  test("bad rates name the field and say why", () => {
    expect(fieldError(() => parseRate("10mbs")).message).toBe(
      'rate: "10mbs" has an unknown unit "mbs" (use bit, kbit, mbit, gbit, tbit, kibit, ... for bits/s or Bps, KBps, MBps, GBps, KiBps, ... for bytes/s)',
    );
    expect(fieldError(() => parseRate("fast", "qos.rate")).field).toBe("qos.rate");
    expect(fieldError(() => parseRate("10 mbit")).reason).toMatch(/unknown unit " mbit"/);
    expect(fieldError(() => parseRate("-1mbit")).reason).toMatch(/must not be negative/);
    expect(fieldError(() => parseRate("50%")).reason).toMatch(/share of the link speed/);
    expect(fieldError(() => parseRate(1.5)).reason).toMatch(/whole number of bytes per second/);
  });

  test("suffixes are case-insensitive and scale linearly (property)", () => {
    // Bits per second per unit, from tc's table.
    const units: Record<string, number> = {
      bit: 1,
      kbit: 1e3,
      mbit: 1e6,
      gbit: 1e9,
      kibit: 1024,
      mibit: 1024 ** 2,
      bps: 8,
      kbps: 8e3,
      mbps: 8e6,
      kibps: 8 * 1024,
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(...Object.keys(units)), (n, unit) => {
        const lower = parseRate(`${n}${unit}`);
        expect(parseRate(`${n}${unit.toUpperCase()}`)).toBe(lower);
        expect(lower).toBe(Math.trunc((n * (units[unit] as number)) / 8));
      }),
    );
  });
});

describe("sizes", () => {
  test.each([
    ["32kb", 32768],
    ["32k", 32768],
    ["1mb", 1048576],
    ["1.5kb", 1536],
    ["1500", 1500],
    ["1500b", 1500],
    ["1kbit", 128],
    ["1mbit", 131072],
    ["1gb", 1073741824],
  ])("%s is %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test("a cell size after a slash, as tc's burst and mtu take it", () => {
    expect(parseSizeAndCell("32kb/8")).toEqual({ bytes: 32768, cellLog: 3 });
    expect(parseSizeAndCell("1540")).toEqual({ bytes: 1540 });
    expect(fieldError(() => parseSizeAndCell("32kb/7", "burst")).message).toBe(
      'burst: "32kb/7": the cell size after "/" must be a power of two',
    );
  });

  test("bad sizes", () => {
    expect(fieldError(() => parseSize("32kib")).reason).toMatch(/unknown unit "kib"/);
    expect(fieldError(() => parseSize("5gb")).reason).toMatch(/does not fit 32 bits/);
    expect(fieldError(() => parseSize("kb")).reason).toMatch(/does not start with a number/);
  });
});

describe("times", () => {
  test.each([
    ["50ms", 50_000, 50_000_000],
    ["1.5s", 1_500_000, 1_500_000_000],
    ["250us", 250, 250_000],
    ["100", 100, 100_000],
    ["1.1ms", 1100, 1_100_000],
    ["2secs", 2_000_000, 2_000_000_000],
    ["1500ns", 1, 1500],
    ["10MSEC", 10_000, 10_000_000],
  ])("%s is %d us / %d ns", (text, usec, nsec) => {
    expect(parseTime(text)).toEqual({ usec, nsec });
  });

  test("numbers are microseconds", () => {
    expect(parseTime(2.5)).toEqual({ usec: 2, nsec: 2500 });
  });

  test("bad times", () => {
    expect(fieldError(() => parseTime("50 ms", "delay")).message).toBe(
      'delay: "50 ms" has an unknown unit " ms" (use s, ms, us or ns)',
    );
    expect(fieldError(() => parseTime("1h")).reason).toMatch(/unknown unit "h"/);
  });
});

describe("percentages", () => {
  test("'1%' and '1' are both one percent, as in tc", () => {
    expect(parsePercent("1%")).toBe(0.01);
    expect(parsePercent("1")).toBe(0.01);
    expect(parsePercent(25)).toBe(0.25);
    expect(probabilityToU32(parsePercent("25%"))).toBe(0x40000000);
    expect(probabilityToU32(parsePercent("100%"))).toBe(0xffffffff);
    expect(u32ToPercent(probabilityToU32(0.01))).toBe(1);
  });

  test("bad percentages", () => {
    expect(fieldError(() => parsePercent("150%", "loss")).message).toBe(
      'loss: "150%" must be between 0% and 100%',
    );
    expect(fieldError(() => parsePercent("1 %")).reason).toMatch(/must be a percentage/);
    expect(fieldError(() => parsePercent("1x")).reason).toMatch(/must be a percentage/);
  });

  test("scaling round-trips through the kernel's 32-bit probability (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (milli) => {
        const pct = milli / 1000;
        expect(Math.abs(u32ToPercent(probabilityToU32(pct / 100)) - pct)).toBeLessThan(1e-6);
      }),
    );
  });
});

test("rint rounds half to even, as C's", () => {
  expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 3006477106.5].map(rint)).toEqual([0, 2, 2, 4, 2, 3, 3006477106]);
});

describe("formatting as tc prints", () => {
  test.each([
    [1_250_000, "10Mbit"],
    [187_500_000, "1500Mbit"],
    [125, "1Kbit"],
    [8, "64bit"],
    [5_000_000_000, "40Gbit"],
    [1_000_125, "8001Kbit"],
  ])("rate %d -> %s", (bytes, text) => {
    expect(formatRate(bytes)).toBe(text);
  });
  test("sizes and times", () => {
    expect(formatSize(32768)).toBe("32Kb");
    expect(formatSize(1048576)).toBe("1Mb");
    expect(formatSize(1600)).toBe("1600b");
    expect(formatTime(50_000)).toBe("50ms");
    expect(formatTime(1_500_000)).toBe("1.5s");
    expect(formatTime(250)).toBe("250us");
  });
});

describe("psched ticks", () => {
  test("this kernel's clock: 15.625 ticks per microsecond, HZ 1e9", () => {
    const p = pschedFromText("000003e8 00000040 000f4240 3b9aca00\n");
    expect(p).toEqual({ tickInUsec: 15.625, clockFactor: 1, hz: 1_000_000_000 });
    expect(p).toEqual(DEFAULT_PSCHED);
  });

  test("the nanosecond-resolution compatibility rule of tc_core_init()", () => {
    expect(pschedFromText("000003e8 00000400 3b9aca00 3b9aca00").tickInUsec).toBe(1000);
    expect(() => pschedFromText("garbage")).toThrow(/cannot parse/);
  });

  test("conversions truncate like tc's unsigned helpers", () => {
    const p = DEFAULT_PSCHED;
    expect(timeToTicks(100_000, p)).toBe(1_562_500);
    expect(timeToTicks(250, p)).toBe(3906);
    expect(ticksToTime(409_593, p)).toBe(26_213);
    // tbf rate 10mbit burst 32kb: tc computes 409593 ticks (26214.4 us truncated first).
    expect(xmitTime(1_250_000, 32_768, p)).toBe(409_593);
    expect(xmitSize(1_250_000, 409_600, p)).toBe(32_767);
  });

  test("rate tables: cell log from the MTU, ATM cells, cached", () => {
    const a = rateTable(
      { rate: 1_250_000, mtu: 0, mpu: 0, overhead: 0, linklayer: "ethernet" },
      DEFAULT_PSCHED,
    );
    expect(a.spec.cellLog).toBe(3);
    expect(a.table.readUInt32LE(0)).toBe(xmitTime(1_250_000, 8, DEFAULT_PSCHED));
    expect(a.table.readUInt32LE(255 * 4)).toBe(xmitTime(1_250_000, 2048, DEFAULT_PSCHED));
    const atm = rateTable({ rate: 1_250_000, mtu: 0, mpu: 0, overhead: 0, linklayer: "atm" }, DEFAULT_PSCHED);
    expect(atm.spec.linklayer).toBe(2);
    expect(atm.table.readUInt32LE(0)).toBe(xmitTime(1_250_000, 53, DEFAULT_PSCHED));
    expect(
      rateTable({ rate: 1_250_000, mtu: 0, mpu: 0, overhead: 0, linklayer: "ethernet" }, DEFAULT_PSCHED),
    ).toBe(a);
  });
});
