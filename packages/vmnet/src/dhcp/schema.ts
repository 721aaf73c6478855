// zod schemas for every public DHCP input. A failure becomes a VmnetInputError naming the field
// (e.g. "bindings.0.lease.routes.1.dst"), before any socket is opened.
import { describeZodError } from "@vmnet/netlink-native";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";
import { domainNameProblem } from "./dns-search.js";
import { parseIpv4, parseIpv4Cidr } from "./ipv4.js";
import { isMac, macBytes } from "./mac.js";

export const DEFAULT_SERVER_ID = "169.254.254.2";
export const DEFAULT_LEASE_TIME_S = 86_400;

const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, "must be an IPv4 address like 10.1.2.3");
const hostAddress = ipv4.refine((s) => {
  const v = parseIpv4(s);
  return v !== 0 && v !== 0xffffffff && v !== undefined && v >>> 28 < 14;
}, "must be a unicast IPv4 address");
const ipv4Cidr = z
  .string()
  .refine((s) => parseIpv4Cidr(s) !== undefined, "must be an IPv4 CIDR like 10.0.0.0/8");
const mac = z
  .string()
  .refine(isMac, "must be a MAC address like 02:00:00:00:00:01")
  .refine((s) => ((macBytes(s)[0] ?? 0) & 1) === 0, "must be a unicast MAC (multicast bit clear)");
const domainName = z.string().superRefine((s, ctx) => {
  const problem = domainNameProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const ifNameSchema = z
  .string()
  .refine((s) => Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 15, "must be 1-15 bytes")
  .refine((s) => !/[/\s:]/.test(s) && s !== "." && s !== "..", "must be an interface name");

export const leaseSchema = z.strictObject({
  clientMac: mac,
  address: hostAddress,
  prefixLength: z.number().int("must be an integer").min(0, "must be 0-32").max(32, "must be 0-32"),
  gateway: hostAddress.optional(),
  routes: z.array(z.strictObject({ dst: ipv4Cidr, gw: ipv4.optional() })).max(200, "at most 200 routes"),
  nameservers: z.array(hostAddress).max(32, "at most 32 nameservers"),
  search: z.array(domainName).max(32, "at most 32 domains"),
  domain: domainName.optional(),
  mtu: z
    .number()
    .int("must be an integer")
    .min(68, "must be at least 68")
    .max(65535, "must be at most 65535")
    .optional(),
  hostname: z
    .string()
    .min(1, "must not be empty")
    .max(63, "must be at most 63 bytes")
    .regex(
      /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
      "must be a host name (letters, digits, '-', '_', '.')",
    )
    .optional(),
  leaseTimeS: z
    .number()
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(0xffffffff, "must fit 32 bits"),
});

export const bindingSchema = z.strictObject({
  listenOn: ifNameSchema,
  lease: leaseSchema,
  serverId: hostAddress.optional(),
});

const netnsRef = z.union([
  z.string().min(1, "must not be empty"),
  z.strictObject({ name: z.string().min(1) }),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ pid: z.number().int().positive() }),
]);

export const serverOptionsSchema = z
  .strictObject({
    netns: netnsRef.optional(),
    bindings: z.array(bindingSchema).min(1, "must hold at least one binding"),
    onEvent: z
      .custom<(event: unknown) => void>((v) => typeof v === "function", "must be a function")
      .optional(),
  })
  .superRefine((o, ctx) => {
    // One device may serve several guests (a bridge port), but each guest (MAC) only once.
    const seen = new Map<string, number>();
    o.bindings.forEach((b, i) => {
      const key = `${b.listenOn} ${macBytes(b.lease.clientMac).toString("hex")}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["bindings", i, "lease", "clientMac"],
          message: `serves the same client on ${b.listenOn} as bindings.${first}`,
        });
      } else seen.set(key, i);
    });
  });

/** Parses `value` with `schema`, throwing VmnetInputError(field.path, reason). */
export function checkInput<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { path, reason } = describeZodError(r.error, field);
  throw new VmnetInputError(path, reason);
}
