// zod schemas for public inputs. Units are parsed inside the schema (so a bad "10mbs" is reported
// with its path, e.g. `qdisc.rate`), and every failure becomes one TcInputError naming the field.

import { describeZodError } from "@vmnet/netlink-native/packet";
import { z } from "zod";
import { TcInputError } from "./errors.js";
import {
  type Duration,
  type Percent,
  parsePercent,
  parseRate,
  parseSize,
  parseSizeAndCell,
  parseTime,
  type Rate,
  type Size,
  type Time,
} from "./units.js";

function unitSchema<T, I extends string | number>(what: string, parse: (v: I) => T): z.ZodType<T, I> {
  return z.unknown().transform((v, ctx) => {
    if (typeof v !== "string" && typeof v !== "number") {
      ctx.addIssue({ code: "custom", message: `expected ${what}` });
      return z.NEVER;
    }
    try {
      return parse(v as I);
    } catch (e) {
      if (e instanceof TcInputError) {
        ctx.addIssue({ code: "custom", message: e.reason });
        return z.NEVER;
      }
      throw e;
    }
  }) as unknown as z.ZodType<T, I>;
}

/** A rate (bytes per second after parsing). */
export const rate = unitSchema<number, Rate>('a rate such as "10mbit" or a number of bytes per second', (v) =>
  parseRate(v),
);
/** A rate that must not be zero. */
export const positiveRate = rate.refine((v) => v > 0, "must be greater than 0");
export const size = unitSchema<number, Size>('a size such as "32kb" or a number of bytes', (v) =>
  parseSize(v),
);
export const sizeAndCell = unitSchema<{ bytes: number; cellLog?: number }, Size>(
  'a size such as "32kb" (optionally "32kb/8") or a number of bytes',
  (v) => parseSizeAndCell(v),
);
export const time = unitSchema<Duration, Time>('a time such as "50ms" or a number of microseconds', (v) =>
  parseTime(v),
);
export const percent = unitSchema<number, Percent>('a percentage such as "1%" or a number 0-100', (v) =>
  parsePercent(v),
);

const int = (min: number, max: number) =>
  z
    .number({ error: "expected a number" })
    .int("must be an integer")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
export const u8 = int(0, 0xff);
export const u16 = int(0, 0xffff);
export const u32 = int(0, 0xffffffff);
export const s32 = int(-0x80000000, 0x7fffffff);

/** An interface name as the kernel takes it at creation: 1-15 bytes, no '/', ':' or whitespace. */
export const interfaceName = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 15, "must be 1-15 bytes")
  .refine((s) => !/[/\s:]/.test(s), "must not contain '/', ':' or whitespace")
  .refine((s) => s !== "." && s !== "..", "must not be '.' or '..'");

/**
 * A link by name, alternative name (up to 127 bytes, as Rtnl accepts them) or ifindex.
 */
export const linkRef = z.union(
  [
    z
      .string()
      .refine(
        (s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 127,
        "must be a name of 1-127 bytes",
      )
      .refine((s) => !/[/\s:]/.test(s), "must not contain '/', ':' or whitespace"),
    z.number().int().positive("must be a positive ifindex"),
  ],
  { error: "expected an interface name or ifindex" },
);

/**
 * A name linkRef accepts (1-127 bytes, no '/', ':' or whitespace), checked without running the
 * schema: a thousand calls naming links each would otherwise run it a thousand times (a string
 * has no parse cache entry). Anything else goes through the schema, for its error.
 */
export function isLinkName(s: unknown): s is string {
  return (
    typeof s === "string" &&
    s.length >= 1 &&
    s.length <= 127 &&
    !/[/\s:]/.test(s) &&
    (s.length * 3 <= 127 || Buffer.byteLength(s) <= 127)
  );
}

/** Successful parses by schema and input text: a thousand identical specs are parsed once. */
const parsedCache = new WeakMap<z.ZodType, Map<string, unknown>>();
const CACHE_MAX = 256;

function cacheKey(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined; // BigInt, cycles: parsed every time
  }
}

/**
 * Parses `value` with `schema`; on failure throws a TcInputError naming `field.path`. Parsing is
 * pure, so a success is remembered by the input's JSON text (results are never mutated).
 */
export function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const key = cacheKey(value);
  let bySchema = parsedCache.get(schema);
  if (key !== undefined && bySchema?.has(key)) return bySchema.get(key) as T;
  const r = schema.safeParse(value);
  if (r.success) {
    if (key !== undefined) {
      if (!bySchema) {
        bySchema = new Map();
        parsedCache.set(schema, bySchema);
      }
      if (bySchema.size >= CACHE_MAX) bySchema.clear();
      bySchema.set(key, r.data);
    }
    return r.data;
  }
  const { path, reason } = describeZodError(r.error, field, { listValues: true });
  throw new TcInputError(path, reason);
}
