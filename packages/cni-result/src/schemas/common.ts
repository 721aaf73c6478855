// Field schemas shared by every result version: addresses, CIDRs and MACs that are really
// parsed (see ../ip.ts), DNS, and the route type libcni uses from 0.3.0 on.

import { z } from "zod";
import { explainCidr, explainIp, explainMac, ipFamily } from "../ip.js";
import type { Dns, LegacyRoute, Route } from "../types.js";

function checked(explain: (text: string) => string | undefined) {
  return z.string().superRefine((text, ctx) => {
    const problem = explain(text);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** An IPv4 or IPv6 address without prefix ("10.1.0.1", "fd00::1"). */
export const ipAddressSchema = checked(explainIp);
/** An address with a prefix length ("10.1.0.5/16"); host bits may be set, as in libcni. */
export const cidrSchema = checked(explainCidr);
/** A hardware address ("0a:58:0a:01:00:05"). */
export const macSchema = checked(explainMac);

const nonNegativeInt = z.number().int().min(0);
const uint32 = nonNegativeInt.max(0xffffffff);

export const dnsSchema: z.ZodType<Dns> = z.object({
  nameservers: z.array(ipAddressSchema).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

/** Reports a next hop whose family differs from the destination's. */
function checkNextHop(route: { dst: string; gw?: string | undefined }, ctx: z.RefinementCtx): void {
  if (route.gw === undefined) return;
  const dst = ipFamily(route.dst);
  const gw = ipFamily(route.gw);
  if (dst !== gw) {
    ctx.addIssue({ code: "custom", path: ["gw"], message: `IPv${gw} next hop for an IPv${dst} destination` });
  }
}

export const legacyRouteSchema: z.ZodType<LegacyRoute> = z
  .object({ dst: cidrSchema, gw: ipAddressSchema.optional() })
  .superRefine(checkNextHop);

export const routeSchema: z.ZodType<Route> = z
  .object({
    dst: cidrSchema,
    gw: ipAddressSchema.optional(),
    mtu: uint32.optional(),
    advmss: uint32.optional(),
    priority: uint32.optional(),
    table: uint32.optional(),
    scope: nonNegativeInt.max(255).optional(),
  })
  .superRefine(checkNextHop);

/** Interface MTU in bytes. */
export const mtuSchema = nonNegativeInt.max(0x7fffffff);
/** Index into a result's `interfaces`. */
export const interfaceIndexSchema = nonNegativeInt;
/** Interface names are never empty; how long they may be depends on the sandbox, so no more is checked. */
export const interfaceNameSchema = z.string().min(1);

interface IpEntry {
  address: string;
  gateway?: string | undefined;
  interface?: number | undefined;
  version?: "4" | "6" | undefined;
}

/**
 * Checks an `ips` list against itself and the interfaces: the gateway (and, before 1.0.0, the
 * `version` field) must match the address family, and an interface index must point into
 * `interfaces`. An abbreviated result without an `interfaces` key may still carry indexes: the
 * 0.3.1 spec's own prevResult example does.
 */
export function checkIpEntries(
  result: { interfaces?: readonly unknown[] | undefined; ips?: readonly IpEntry[] | undefined },
  ctx: z.RefinementCtx,
): void {
  for (const [i, ip] of (result.ips ?? []).entries()) {
    const family = ipFamily(ip.address);
    if (ip.version !== undefined && ip.version !== String(family)) {
      ctx.addIssue({
        code: "custom",
        path: ["ips", i, "version"],
        message: `is "${ip.version}" but the address is IPv${family}`,
      });
    }
    if (ip.gateway !== undefined && ipFamily(ip.gateway) !== family) {
      ctx.addIssue({
        code: "custom",
        path: ["ips", i, "gateway"],
        message: `IPv${ipFamily(ip.gateway)} gateway for an IPv${family} address`,
      });
    }
    const count = result.interfaces?.length;
    if (ip.interface !== undefined && count !== undefined && ip.interface >= count) {
      ctx.addIssue({
        code: "custom",
        path: ["ips", i, "interface"],
        message: `index ${ip.interface} is out of range: the result has ${count} interface(s)`,
      });
    }
  }
}
