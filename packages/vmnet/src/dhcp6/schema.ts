// zod schemas for every public DHCPv6 input; a failure becomes VmnetInputError naming the field.
import { z } from "zod";
import { domainNameProblem } from "../dhcp/dns-search.js";
import { isMac, macBytes } from "../dhcp/mac.js";
import { ifNameSchema } from "../dhcp/schema.js";
import { isLinkLocal, isMulticast, isUnspecified, parseIpv6 } from "./ipv6.js";

export const DEFAULT_LEASE_TIME_S = 86_400;

export const ipv6Text = z
  .string()
  .refine((s) => parseIpv6(s) !== undefined, "must be an IPv6 address like 2001:db8::1");
export const unicastIpv6 = ipv6Text.refine((s) => {
  const b = parseIpv6(s) as Buffer;
  return !isMulticast(b) && !isUnspecified(b);
}, "must be a unicast IPv6 address");
export const globalIpv6 = unicastIpv6.refine(
  (s) => !isLinkLocal(parseIpv6(s) as Buffer),
  "must not be a link-local address (fe80::/10)",
);
export const linkLocalIpv6 = unicastIpv6.refine(
  (s) => isLinkLocal(parseIpv6(s) as Buffer),
  "must be a link-local address (fe80::/10)",
);
export const unicastMac = z
  .string()
  .refine(isMac, "must be a MAC address like 02:00:00:00:00:01")
  .refine((s) => ((macBytes(s)[0] ?? 0) & 1) === 0, "must be a unicast MAC (multicast bit clear)");
export const domainName = z.string().superRefine((s, ctx) => {
  const problem = domainNameProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const lifetime = z
  .number()
  .int("must be an integer")
  .min(1, "must be at least 1")
  .max(0xffffffff, "must fit 32 bits");

export const lease6Schema = z
  .strictObject({
    clientMac: unicastMac,
    address: globalIpv6,
    prefixLength: z.number().int("must be an integer").min(1, "must be 1-128").max(128, "must be 1-128"),
    nameservers: z.array(unicastIpv6).max(32, "at most 32 nameservers"),
    search: z.array(domainName).max(32, "at most 32 domains"),
    preferredLifetimeS: lifetime,
    validLifetimeS: lifetime,
  })
  .refine((l) => l.preferredLifetimeS <= l.validLifetimeS, {
    path: ["preferredLifetimeS"],
    message: "must not exceed validLifetimeS (RFC 8415 21.6)",
  });

export const binding6Schema = z.strictObject({
  listenOn: ifNameSchema,
  lease: lease6Schema,
  serverAddress: linkLocalIpv6.optional(),
});

export const duidHex = z
  .string()
  .regex(/^([0-9a-fA-F]{2})+$/, "must be hex, two digits per byte")
  .refine((s) => s.length >= 6 && s.length <= 260, "must be 3-130 bytes (RFC 8415 11.1)");

export const netnsRef = z.union([
  z.string().min(1, "must not be empty"),
  z.strictObject({ name: z.string().min(1) }),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ pid: z.number().int().positive() }),
]);

export const server6OptionsSchema = z
  .strictObject({
    netns: netnsRef.optional(),
    bindings: z.array(binding6Schema).min(1, "must hold at least one binding"),
    duid: duidHex.optional(),
    onEvent: z
      .custom<(event: unknown) => void>((v) => typeof v === "function", "must be a function")
      .optional(),
  })
  .superRefine((o, ctx) => {
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
