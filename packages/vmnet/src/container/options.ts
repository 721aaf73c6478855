// Validation of setupContainerSideNetwork's options: one VmnetInputError naming the field.
import { describeZodError } from "@vmnet/netlink-native";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";
import { masqueradeOptionsSchema } from "../masquerade/index.js";
import { netnsRefSchema } from "./netns.js";

export const setupOptionsSchema = z.strictObject({
  netns: netnsRefSchema,
  result: z.unknown().optional(),
  cniVersion: z.enum(["1.0.0", "1.1.0"]).optional(),
  mode: z.enum(["bridge", "tcfilter", "masquerade"], {
    error: 'must be "bridge", "tcfilter" or "masquerade"',
  }),
  masquerade: masqueradeOptionsSchema.optional(),
  vnetHdr: z.boolean().optional(),
  queues: z.number().int().min(1, "must be 1-256").max(256, "must be 1-256").optional(),
  mtu: z.number().int().min(68, "must be at least 68").max(65535, "must be at most 65535").optional(),
  dhcp: z.boolean().optional(),
  taps: z
    .array(
      z
        .string()
        .min(1, "must not be empty")
        .refine((n) => Buffer.byteLength(n) <= 15, "must be at most 15 bytes (IFNAMSIZ)")
        .refine((n) => !/[\s/:]/.test(n), "must not contain whitespace, / or :"),
    )
    .optional(),
  stateDir: z.string().min(1).optional(),
  owner: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of [A-Za-z0-9._-]")
    .optional(),
  beforeStep: z.function().optional(),
});

export const recoverOptionsSchema = z.strictObject({
  stateDir: z.string().min(1).optional(),
  teardown: z.boolean().optional(),
  dhcp: z.boolean().optional(),
});

export function checkOptions<T extends z.ZodType>(schema: T, value: unknown, root: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { path, reason } = describeZodError(parsed.error, root);
  throw new VmnetInputError(path.replace(/^\./, "") || "options", reason);
}

/** Interface names are at most 15 bytes (IFNAMSIZ - 1). */
export function checkIfName(name: string, field: string): void {
  if (Buffer.byteLength(name) > 15 || name.length === 0)
    throw new VmnetInputError(field, `"${name}" is not 1-15 bytes`);
}
