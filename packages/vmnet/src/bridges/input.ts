// Input validation for the bridges layer: zod schemas, and one parse function that turns a zod
// failure into a VmnetInputError naming the field (the repo's one formatter, describeZodError).
import { describeZodError } from "@vmnet/netlink-native";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";

export function parseInput<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { path, reason } = describeZodError(r.error, field, { listValues: true });
  throw new VmnetInputError(path, reason);
}

/** A kernel interface name: 1–15 bytes, no '/', no whitespace. */
export const ifName = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => Buffer.byteLength(s) <= 15, "must be at most 15 bytes")
  .refine((s) => !/[\s/:]/.test(s) && s !== "." && s !== "..", "must not contain '/', ':' or whitespace");

export const vlanId = z
  .number()
  .int("must be an integer")
  .min(0, "must be 0-4095")
  .max(4095, "must be 0-4095");

export const macAddress = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must be a MAC address like "02:00:00:00:00:01"')
  .transform((s) => s.toLowerCase());

export const cidr = z
  .string()
  .regex(
    /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)\/\d{1,3}$/,
    'must be an address with a prefix, like "10.0.0.1/24"',
  );

export const ipAddress = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/, "must be an IP address");

/** The tap name format: printf-like with exactly one %d, e.g. "mega_tap%d". */
export const tapFormat = z
  .string()
  .refine((s) => (s.match(/%d/g) ?? []).length === 1, 'must hold exactly one "%d", like "mega_tap%d"')
  .refine(
    (s) => Buffer.byteLength(s.replace("%d", "")) <= 10,
    "leaves too few bytes for the number (15-byte names)",
  );

export const ownerName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of [A-Za-z0-9._-]");
