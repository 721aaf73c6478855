// zod schemas for the public inputs; every failure becomes a CaptureInputError naming the field.
import { z } from "zod";
import { CaptureInputError } from "./errors.js";

const ifName = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 15, "must be 1-15 bytes")
  .refine((s) => !/[/\s:]/.test(s), "must not contain '/', ':' or whitespace");

const netnsRef = z.union([
  z.string().min(1, "must not be empty"),
  z.object({ name: z.string().min(1) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ pid: z.number().int().positive() }).strict(),
]);

const bpfInstruction = z
  .object({
    code: z.number().int().min(0).max(0xffff),
    jt: z.number().int().min(0).max(255),
    jf: z.number().int().min(0).max(255),
    k: z.number().int().min(0).max(0xffffffff),
  })
  .strict();

const positiveInt = z.number().int("must be an integer").positive("must be > 0");

/** Options shared by file captures and live streams. */
export const sourceShape = {
  /** An interface name, or "any" for every interface of the netns. */
  iface: ifName,
  netns: netnsRef.optional(),
  /** A pcap-filter expression (tcpdump syntax) or a raw classic BPF program. */
  filter: z
    .union([
      z.string().min(1, "must not be empty"),
      z
        .array(bpfInstruction)
        .min(1, "must have at least one instruction")
        .max(4096, "at most 4096 instructions"),
    ])
    .optional(),
  snaplen: z
    .number()
    .int("must be an integer")
    .min(1, "must be at least 1 (bytes kept of each packet)")
    .max(262144, "must be at most 262144")
    .default(1600),
  promisc: z.boolean().default(false),
  /** "in": only packets the interface received. */
  direction: z.enum(["both", "in"]).default("both"),
  limits: z
    .object({
      packets: positiveInt.optional(),
      bytes: positiveInt.optional(),
      seconds: z.number().positive("must be > 0").optional(),
    })
    .strict()
    .default({}),
  /** Kernel ring size in bytes (default 32 MiB): more absorbs longer bursts. */
  bufferSize: z
    .number()
    .int()
    .min(1 << 16, "must be at least 64 KiB")
    .max(1 << 30, "must be at most 1 GiB")
    .default(32 << 20),
};

export const captureOptions = z
  .object({
    ...sourceShape,
    file: z.string().min(1, "must not be empty"),
    /** Default: "pcap" for a file ending in .pcap, else "pcapng". */
    format: z.enum(["pcap", "pcapng"]).optional(),
    /** Replace an existing file (default: refuse with EEXIST). */
    overwrite: z.boolean().default(false),
  })
  .strict();

export const liveOptions = z
  .object({
    ...sourceShape,
    /** Decode each packet (default true); off, only raw bytes are given. */
    decode: z.boolean().default(true),
    /** Bytes of batches JS may hold unread before more are dropped (default 64 MiB). */
    maxQueuedBytes: z
      .number()
      .int()
      .positive()
      .default(64 << 20),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict();

/** Parses `value`; on failure throws a CaptureInputError naming `field.path`. */
export function check<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.length ? `${field}.${issue.path.join(".")}` : field;
  let reason = issue?.message ?? "invalid";
  if (issue?.code === "invalid_type" && reason.startsWith("Invalid input"))
    reason = `expected ${issue.expected}`;
  if (issue?.code === "unrecognized_keys")
    reason = `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  throw new CaptureInputError(path, reason);
}
