// CNI result -> what to advertise to each guest: the interface's IPv6 prefix on-link without
// SLAAC (the address comes from DHCPv6: M flag), a default router when the result routes ::/0,
// the result's other IPv6 routes as Route Information options, its IPv6 DNS as RDNSS/DNSSL and
// the MTU. The router is named by the caller (routerMac, learned from the pod), never guessed. Pure.
import {
  CniResultError,
  ipFamily,
  ipsForInterface,
  parseResult,
  routesForInterface,
  toCurrent,
} from "@vmnet/cni-result";
import { z } from "zod";
import { checkInput, ifNameSchema } from "../dhcp/schema.js";
import { formatIpv6, inPrefix, parseIpv6Cidr, prefixOf } from "../dhcp6/ipv6.js";
import { linkLocalIpv6, unicastMac } from "../dhcp6/schema.js";
import { VmnetInputError } from "../errors.js";
import { advertConfigSchema } from "./schema.js";
import type { RouterAdvertConfig } from "./types.js";

export interface AdvertsFromResultOptions {
  /**
   * The MAC of the router guests should use (the CNI's IPv6 gateway's), for every interface or per
   * CNI interface name. Required for each interface whose result routes IPv6 (a default or other
   * route); without routes the advert only gives flags, prefix, DNS and MTU.
   */
  routerMac?: string | Record<string, string>;
  /** The router link-local to advertise from (default: EUI-64 of routerMac). */
  sourceLinkLocal?: string | Record<string, string>;
  /** Answer NS for the router link-local (default true; false when a device owns it). */
  answerNeighborSolicitations?: boolean;
  mtu?: number | Record<string, number>;
  /** Router Lifetime when the result has a default route (default 1800). */
  defaultRouterLifetimeS?: number;
  /** Lifetime of prefixes, routes and DNS (default 86400). */
  lifetimeS?: number;
  minIntervalS?: number;
  maxIntervalS?: number;
}

const perInterface = <T extends z.ZodType>(t: T) => z.union([t, z.record(ifNameSchema, t)]);
const optionsSchema = z.strictObject({
  routerMac: perInterface(unicastMac).optional(),
  sourceLinkLocal: perInterface(linkLocalIpv6).optional(),
  answerNeighborSolicitations: z.boolean().optional(),
  mtu: perInterface(z.number().int().min(1280, "must be at least 1280").max(65535)).optional(),
  defaultRouterLifetimeS: z.number().int().min(1, "must be 1-9000").max(9000, "must be 1-9000").optional(),
  lifetimeS: z.number().int().min(1).max(0xffffffff).optional(),
  minIntervalS: z.number().optional(),
  maxIntervalS: z.number().optional(),
});

function pick<T>(v: T | Record<string, T> | undefined, name: string): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "object" && v !== null) return (v as Record<string, T>)[name];
  return v as T;
}

function parse(result: unknown) {
  try {
    return parseResult(result);
  } catch (error) {
    if (error instanceof CniResultError)
      throw new VmnetInputError(error.path ? `result.${error.path}` : "result", error.reason);
    throw error;
  }
}

/** The IPv6 gateway of each CNI interface that has one (whose MAC the caller resolves for routerMac). */
export function gateways6FromResult(result: unknown): Map<string, string> {
  const parsed = parse(result);
  const current = toCurrent(parsed);
  const out = new Map<string, string>();
  (current.interfaces ?? []).forEach((iface, index) => {
    const ip = ipsForInterface(parsed, index).find((e) => ipFamily(e.address) === 6);
    const viaRoute = routesForInterface(parsed, index).find(
      (r) => ipFamily(r.dst) === 6 && r.gw !== undefined,
    )?.gw;
    const gateway = ip?.gateway ?? viaRoute;
    if (gateway !== undefined) out.set(iface.name, gateway);
  });
  return out;
}

export function advertsFromResult(
  result: unknown,
  options?: AdvertsFromResultOptions,
): Map<string, RouterAdvertConfig> {
  const parsed = parse(result);
  const current = toCurrent(parsed);
  const out = new Map<string, RouterAdvertConfig>();
  const interfaces = current.interfaces ?? [];
  const wanted = interfaces.some((_, index) =>
    ipsForInterface(parsed, index).some((e) => ipFamily(e.address) === 6),
  );
  if (!wanted) return out;
  const opts = checkInput(optionsSchema, options ?? {}, "options");
  const lifetimeS = opts.lifetimeS ?? 86_400;
  const dns = current.dns ?? {};
  interfaces.forEach((iface, index) => {
    const ip = ipsForInterface(parsed, index).find((e) => ipFamily(e.address) === 6);
    if (!ip) return;
    const routerMac = pick(opts.routerMac, iface.name);
    const own = parseIpv6Cidr(ip.address) as { address: Buffer; prefixLength: number };
    const onLinkPrefix = `${formatIpv6(prefixOf(own.address, own.prefixLength))}/${own.prefixLength}`;
    const routes6 = routesForInterface(parsed, index).filter((r) => ipFamily(r.dst) === 6);
    const hasDefault = routes6.some(
      (r) => (parseIpv6Cidr(r.dst) as { prefixLength: number }).prefixLength === 0,
    );
    const other = routes6
      .map((r) => ({ r, cidr: parseIpv6Cidr(r.dst) as { address: Buffer; prefixLength: number } }))
      .filter(({ cidr }) => cidr.prefixLength > 0)
      // The prefix's own route is the Prefix Information option's business.
      .filter(
        ({ cidr }) =>
          !(cidr.prefixLength === own.prefixLength && inPrefix(cidr.address, own.address, own.prefixLength)),
      )
      .map(({ cidr }) => ({
        prefix: `${formatIpv6(prefixOf(cidr.address, cidr.prefixLength))}/${cidr.prefixLength}`,
        lifetimeS,
      }));
    if (routerMac === undefined && (hasDefault || other.length > 0)) {
      const field =
        typeof opts.routerMac === "object" ? `options.routerMac.${iface.name}` : "options.routerMac";
      throw new VmnetInputError(
        field,
        `required: ${iface.name}'s IPv6 routes go through a gateway; give its MAC`,
      );
    }
    const sourceLinkLocal = pick(opts.sourceLinkLocal, iface.name);
    const mtu = pick(opts.mtu, iface.name) ?? iface.mtu;
    const nameservers = (dns.nameservers ?? []).filter((n) => ipFamily(n) === 6);
    const config: RouterAdvertConfig = {
      ...(routerMac !== undefined && { routerMac }),
      ...(sourceLinkLocal !== undefined && { sourceLinkLocal }),
      ...(opts.answerNeighborSolicitations !== undefined && {
        answerNeighborSolicitations: opts.answerNeighborSolicitations,
      }),
      managed: true,
      other: true,
      defaultRouterLifetimeS: hasDefault ? (opts.defaultRouterLifetimeS ?? 1800) : 0,
      // A /128 (ptp-style) address has no on-link prefix to announce.
      prefixes:
        own.prefixLength < 128
          ? [
              {
                prefix: onLinkPrefix,
                onLink: true,
                autonomous: false,
                validLifetimeS: lifetimeS,
                preferredLifetimeS: lifetimeS,
              },
            ]
          : [],
      routes: other,
      rdnss: nameservers,
      dnssl: dns.search ?? [],
      ...(mtu !== undefined && mtu >= 1280 && { mtu }),
      ...(opts.minIntervalS !== undefined && { minIntervalS: opts.minIntervalS }),
      ...(opts.maxIntervalS !== undefined && { maxIntervalS: opts.maxIntervalS }),
    };
    out.set(iface.name, checkInput(advertConfigSchema, config, `advert for ${iface.name}`));
  });
  return out;
}
