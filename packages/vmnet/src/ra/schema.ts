// zod schemas of the router advertiser's inputs; failures become VmnetInputError(field, reason).
import { z } from "zod";
import { ifNameSchema } from "../dhcp/schema.js";
import { parseIpv6Cidr } from "../dhcp6/ipv6.js";
import { domainName, linkLocalIpv6, netnsRef, unicastIpv6, unicastMac } from "../dhcp6/schema.js";

const u32 = z
  .number()
  .int("must be an integer")
  .min(0, "must be at least 0")
  .max(0xffffffff, "must fit 32 bits");
const cidr = z
  .string()
  .refine((s) => parseIpv6Cidr(s) !== undefined, "must be an IPv6 prefix like 2001:db8::/64");

export const prefixSchema = z
  .strictObject({
    prefix: cidr,
    onLink: z.boolean().optional(),
    autonomous: z.boolean().optional(),
    validLifetimeS: u32.optional(),
    preferredLifetimeS: u32.optional(),
  })
  .refine((p) => (p.preferredLifetimeS ?? 14_400) <= (p.validLifetimeS ?? 86_400), {
    path: ["preferredLifetimeS"],
    message: "must not exceed validLifetimeS",
  });

export const routeSchema = z.strictObject({
  prefix: cidr,
  preference: z.enum(["low", "medium", "high"]).optional(),
  lifetimeS: u32.optional(),
});

export const advertConfigSchema = z
  .strictObject({
    routerMac: unicastMac.optional(),
    sourceLinkLocal: linkLocalIpv6.optional(),
    answerNeighborSolicitations: z.boolean().optional(),
    managed: z.boolean().optional(),
    other: z.boolean().optional(),
    hopLimit: z
      .number()
      .int("must be an integer")
      .min(0, "must be 0-255")
      .max(255, "must be 0-255")
      .optional(),
    defaultRouterLifetimeS: z
      .number()
      .int("must be an integer")
      .min(0, "must be 0-9000")
      .max(9000, "must be 0-9000")
      .optional(),
    reachableTimeMs: z
      .number()
      .int("must be an integer")
      .min(0)
      .max(3_600_000, "must be at most 3600000")
      .optional(),
    retransTimerMs: u32.optional(),
    prefixes: z.array(prefixSchema).max(16, "at most 16 prefixes").optional(),
    routes: z.array(routeSchema).max(64, "at most 64 routes").optional(),
    rdnss: z.array(unicastIpv6).max(16, "at most 16 servers").optional(),
    dnssl: z.array(domainName).max(16, "at most 16 domains").optional(),
    dnsLifetimeS: u32.optional(),
    mtu: z
      .number()
      .int("must be an integer")
      .min(1280, "must be at least 1280 (IPv6 minimum)")
      .max(65535, "must be at most 65535")
      .optional(),
    minIntervalS: z.number().min(3, "must be at least 3").max(1350, "must be at most 1350").optional(),
    maxIntervalS: z.number().min(4, "must be at least 4").max(1800, "must be at most 1800").optional(),
  })
  .superRefine((c, ctx) => {
    if (
      c.routerMac === undefined &&
      ((c.defaultRouterLifetimeS ?? 1800) > 0 || (c.routes ?? []).length > 0)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["routerMac"],
        message: "required when the advert names a router (defaultRouterLifetimeS > 0 or routes)",
      });
    }
    const max = c.maxIntervalS ?? 600;
    const min = c.minIntervalS ?? Math.max(3, max / 3);
    if (min > 0.75 * max) {
      ctx.addIssue({
        code: "custom",
        path: ["minIntervalS"],
        message: "must be at most 0.75 x maxIntervalS (RFC 4861 6.2.1)",
      });
    }
  });

export const advertiserOptionsSchema = z
  .strictObject({
    netns: netnsRef.optional(),
    bindings: z
      .array(z.strictObject({ listenOn: ifNameSchema, config: advertConfigSchema }))
      .min(1, "must hold at least one binding"),
    onEvent: z
      .custom<(event: unknown) => void>((v) => typeof v === "function", "must be a function")
      .optional(),
  })
  .superRefine((o, ctx) => {
    const seen = new Map<string, number>();
    o.bindings.forEach((b, i) => {
      const first = seen.get(b.listenOn);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["bindings", i, "listenOn"],
          message: `advertises on the same device as bindings.${first}`,
        });
      } else seen.set(b.listenOn, i);
    });
  });
