// zod schemas for every public input. Each failure becomes a NetlinkInputError naming the field.
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { NetlinkInputError } from "./errors.js";

/** Interface names: 1-15 bytes (IFNAMSIZ - 1), no '/', ':' or whitespace, not "." or "..". */
export const ifName = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 15, "must be 1-15 bytes")
  .refine((s) => !/[/\s:]/.test(s), "must not contain '/', ':' or whitespace")
  .refine((s) => s !== "." && s !== "..", "must not be '.' or '..'");

/** An object literal's kind of object (what the hand-checked shortcuts take; others go to zod). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Printable ASCII without space, '/' and ':', 1-15 characters, not "." or "..": a name `ifName` accepts
 * (checked without the schema; names outside this, valid or not, are the schema's to judge).
 */
export function isPlainIfName(v: unknown): v is string {
  if (typeof v !== "string" || v.length === 0 || v.length > 15 || v === "." || v === "..") return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2f || c === 0x3a) return false;
  }
  return true;
}

/** ASCII (so bytes = characters) of at most 255: an alias the link schemas accept. */
export function isPlainAlias(v: unknown): v is string {
  if (typeof v !== "string" || v.length > 255) return false;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** What `mtu` accepts. */
export const isPlainMtu = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 68 && (v as number) <= 65535;
/** What `u32` accepts. */
export const isPlainU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** Alternative names (IFLA_ALT_IFNAME): up to ALTIFNAMSIZ - 1 = 127 bytes. */
export const altName = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 127, "must be 1-127 bytes")
  .refine((s) => !/[/\s:]/.test(s), "must not contain '/', ':' or whitespace");

/**
 * A network namespace: a name under /run/netns, an absolute path, `{ name }`, `{ path }` or
 * `{ pid }` (that process's netns).
 */
export const netnsRef = z.union([
  z.string().min(1, "must not be empty"),
  z.object({ name: z.string().min(1, "must not be empty") }).strict(),
  z.object({ path: z.string().min(1, "must not be empty") }).strict(),
  z.object({ pid: z.number().int("must be an integer").positive("must be a positive pid") }).strict(),
]);

/** A per-request deadline: a positive number of milliseconds (NaN, 0 or negative are refused). */
export const timeoutMs = z
  .number()
  .refine((n) => Number.isFinite(n) && n > 0, "must be a positive number of milliseconds")
  .refine((n) => n <= 2 ** 31 - 1, "must be at most 2147483647 (about 24.8 days)");

/** A link by name (or alternative name) or by ifindex. */
export const linkRef = z.union([altName, z.number().int().positive("must be a positive ifindex")]);

/**
 * An ifindex that linkRef accepts as it is (checked without running the schema): a positive safe
 * integer, as zod's int() has it.
 */
export function isIfindex(ref: unknown): ref is number {
  return typeof ref === "number" && Number.isSafeInteger(ref) && ref > 0;
}

export const mac = z
  .string()
  .regex(/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, "must be a MAC address like 02:00:00:00:00:01")
  .refine(
    (s) => (Number.parseInt(s.slice(0, 2), 16) & 1) === 0,
    "must be a unicast MAC (multicast bit clear)",
  );

export const mtu = z
  .number()
  .int("must be an integer")
  .min(68, "must be at least 68")
  .max(65535, "must be at most 65535");
/** What `ip` accepts: IPv4 or IPv6 text. */
export const isIpText = (v: unknown): v is string => typeof v === "string" && (isIPv4(v) || isIPv6(v));
export const ip = z.string().refine(isIpText, "must be an IPv4 or IPv6 address");
export const ipv4 = z.string().refine((s) => isIPv4(s), "must be an IPv4 address");
/** An address with an optional prefix length (what `cidr` accepts). Read in place (no split). */
export function isCidr(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash !== -1 && s.indexOf("/", slash + 1) !== -1) return false;
  const a = slash === -1 ? s : s.slice(0, slash);
  const max = isIPv4(a) ? 32 : isIPv6(a) ? 128 : -1;
  if (max < 0) return false;
  if (slash === -1) return true;
  // 1-3 ASCII digits, at most the family's length.
  const digits = s.length - slash - 1;
  if (digits < 1 || digits > 3) return false;
  let prefix = 0;
  for (let i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    prefix = prefix * 10 + (c - 48);
  }
  return prefix <= max;
}
export const cidr = z
  .string()
  .refine(isCidr, "must be an address with an optional prefix, like 10.0.0.1/24 or 2001:db8::1/64");
export const vlanId = z
  .number()
  .int("must be an integer")
  .min(1, "must be 1-4094")
  .max(4094, "must be 1-4094");
export const u32 = z
  .number()
  .int("must be an integer")
  .min(0, "must be >= 0")
  .max(0xffffffff, "must fit 32 bits");
export const u8 = z.number().int("must be an integer").min(0, "must be >= 0").max(255, "must be <= 255");

/**
 * Turns a zod failure into the field it names and one readable reason. Shared by every layer that
 * validates input (each wraps it in its own typed error). `listValues` spells out the allowed
 * values of an enum.
 */
export function describeZodError(
  error: z.ZodError,
  field: string,
  options: { listValues?: boolean } = {},
): { path: string; reason: string } {
  const issue = error.issues[0];
  const path = issue?.path.length ? `${field}.${issue.path.join(".")}` : field;
  let reason = issue?.message ?? "invalid";
  if (issue?.code === "invalid_type") reason = `expected ${issue.expected}`;
  if (issue?.code === "unrecognized_keys")
    reason = `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue?.code === "invalid_union" && "discriminator" in issue) reason = "unknown kind";
  if (options.listValues && issue?.code === "invalid_value")
    reason = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  return { path, reason };
}

/** Parses `value` with `schema`; on failure throws a NetlinkInputError naming `field.path`. */
export function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { path, reason } = describeZodError(r.error, field);
  throw new NetlinkInputError(path, reason);
}
