// The 0.1.0/0.2.0 result: one optional IPv4 and one optional IPv6 configuration, each with its
// own routes. There are no interfaces; the address is on the interface the plugin was asked for.

import { z } from "zod";
import { ipFamily } from "../ip.js";
import type { LegacyIpConfig, Result020 } from "../types.js";
import { LEGACY_VERSIONS } from "../versions.js";
import { cidrSchema, dnsSchema, ipAddressSchema, legacyRouteSchema } from "./common.js";

const legacyIpConfigSchema: z.ZodType<LegacyIpConfig> = z.object({
  ip: cidrSchema,
  gateway: ipAddressSchema.optional(),
  routes: z.array(legacyRouteSchema).optional(),
});

/** Everything in `ip4` must be IPv4 and everything in `ip6` IPv6. */
function checkFamily(key: "ip4" | "ip6", config: LegacyIpConfig | undefined, ctx: z.RefinementCtx): void {
  if (!config) return;
  const want = key === "ip4" ? 4 : 6;
  const wrong = (value: string) => ipFamily(value) !== want;
  if (wrong(config.ip)) {
    ctx.addIssue({
      code: "custom",
      path: [key, "ip"],
      message: `IPv${ipFamily(config.ip)} address in ${key}`,
    });
  }
  if (config.gateway !== undefined && wrong(config.gateway)) {
    ctx.addIssue({
      code: "custom",
      path: [key, "gateway"],
      message: `IPv${ipFamily(config.gateway)} gateway in ${key}`,
    });
  }
  for (const [i, route] of (config.routes ?? []).entries()) {
    if (wrong(route.dst)) {
      ctx.addIssue({
        code: "custom",
        path: [key, "routes", i, "dst"],
        message: `IPv${ipFamily(route.dst)} destination in ${key}`,
      });
    }
  }
}

export const result020Schema: z.ZodType<Result020> = z
  .object({
    cniVersion: z.enum(LEGACY_VERSIONS),
    ip4: legacyIpConfigSchema.optional(),
    ip6: legacyIpConfigSchema.optional(),
    dns: dnsSchema.optional(),
  })
  .superRefine((result, ctx) => {
    checkFamily("ip4", result.ip4, ctx);
    checkFamily("ip6", result.ip6, ctx);
  });
