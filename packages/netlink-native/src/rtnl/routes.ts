import { z } from "zod";
import { parseCidr } from "../codec/addresses.js";
import * as C from "../codec/constants.js";
import type { NetlinkConnection } from "../connection.js";
import { NetlinkError } from "../errors.js";
import * as R from "../packet/requests.js";
import { decodeRoute, encodeRouteDumpBody, type Route, type RouteRequest } from "../packet/route-message.js";
import { check, cidr, ip, linkRef, u32 } from "../validate.js";
import { SCOPES } from "./addresses.js";
import type { Links } from "./links.js";
import { plainRouteSpec } from "./plain-route-spec.js";
import { namesOf, ROUTE_PROTOCOLS, ROUTE_TYPES } from "./route-names.js";

const nextHop = z
  .object({
    gateway: ip.optional(),
    dev: linkRef.optional(),
    weight: z.number().int().min(1).max(256).optional(),
    onlink: z.boolean().optional(),
  })
  .strict();

export const routeSpec = z
  .object({
    /** "10.1.0.0/16", "2001:db8::/32" or "default" (IPv4; use "::/0" for IPv6). */
    dst: z.union([z.literal("default"), cidr]),
    gateway: ip.optional(),
    dev: linkRef.optional(),
    metric: u32.optional(),
    table: u32.optional(),
    protocol: z.union([z.enum(namesOf(ROUTE_PROTOCOLS)), z.number().int().min(0).max(255)]).optional(),
    scope: z.enum(namesOf(SCOPES)).optional(),
    type: z.enum(namesOf(ROUTE_TYPES)).optional(),
    onlink: z.boolean().optional(),
    prefsrc: ip.optional(),
    src: cidr.optional(),
    mtu: z.number().int().min(68).max(65535).optional(),
    advmss: u32.optional(),
    multipath: z.array(nextHop).min(1).optional(),
  })
  .strict();
export type RouteSpec = z.input<typeof routeSpec>;

export class Routes {
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly links: Links,
  ) {}

  private async build(input: RouteSpec): Promise<RouteRequest> {
    await this.conn.admit();
    const s = plainRouteSpec(input) ?? check(routeSpec, input, "route");
    const dst =
      s.dst === "default"
        ? {
            address: undefined,
            prefix: 0,
            family: s.gateway?.includes(":") ? C.AF_INET6 : C.AF_INET,
          }
        : parseCidr(s.dst);
    const r: RouteRequest = { family: dst.family, dstPrefix: dst.prefix };
    if (dst.address !== undefined) r.dst = dst.address;
    if (s.gateway !== undefined) r.gateway = s.gateway;
    if (s.dev !== undefined) r.index = await this.links.index(s.dev);
    if (s.metric !== undefined) r.metric = s.metric;
    if (s.table !== undefined) r.table = s.table;
    if (s.protocol !== undefined)
      r.protocol = typeof s.protocol === "number" ? s.protocol : ROUTE_PROTOCOLS[s.protocol];
    if (s.scope !== undefined) r.scope = SCOPES[s.scope];
    if (s.type !== undefined) r.type = ROUTE_TYPES[s.type];
    if (s.onlink) r.onlink = true;
    if (s.prefsrc !== undefined) r.prefsrc = s.prefsrc;
    if (s.src !== undefined) {
      const src = parseCidr(s.src);
      r.src = src.address;
      r.srcPrefix = src.prefix;
    }
    if (s.mtu !== undefined) r.mtu = s.mtu;
    if (s.advmss !== undefined) r.advmss = s.advmss;
    if (s.multipath) {
      r.multipath = await Promise.all(
        s.multipath.map(async (nh) => ({
          ...(nh.gateway !== undefined && { gateway: nh.gateway }),
          ...(nh.dev !== undefined && { index: await this.links.index(nh.dev) }),
          ...(nh.weight !== undefined && { weight: nh.weight }),
          ...(nh.onlink && { onlink: true }),
        })),
      );
    }
    return r;
  }

  async add(spec: RouteSpec): Promise<void> {
    const r = R.routeAdd(await this.build(spec));
    await this.conn.request(r.type, r.flags, r.body, { op: "route add", object: spec.dst });
  }

  /** Adds or replaces the route to `dst`: idempotent. */
  async replace(spec: RouteSpec): Promise<void> {
    const r = R.routeAdd(await this.build(spec), true);
    await this.conn.request(r.type, r.flags, r.body, { op: "route replace", object: spec.dst });
  }

  ensure(spec: RouteSpec): Promise<void> {
    return this.replace(spec);
  }

  async delete(spec: RouteSpec): Promise<void> {
    const r = R.routeDelete(await this.build(spec));
    await this.conn.request(r.type, r.flags, r.body, { op: "route del", object: spec.dst });
  }

  async deleteIfPresent(spec: RouteSpec): Promise<boolean> {
    try {
      await this.delete(spec);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ESRCH") return false;
      throw e;
    }
  }

  /** Routes of a table (default: main; 0 for every table), optionally one family. */
  async list(filter: { table?: number; family?: "inet" | "inet6" } = {}): Promise<Route[]> {
    const family =
      filter.family === "inet" ? C.AF_INET : filter.family === "inet6" ? C.AF_INET6 : C.AF_UNSPEC;
    const table = filter.table ?? C.RT_TABLE_MAIN;
    // Decoded as the answers arrive (a slice per turn), not all at once after the dump.
    return this.conn.dumpDecoded(C.RTM_GETROUTE, encodeRouteDumpBody(family), { op: "route list" }, (m) => {
      if (m.type !== C.RTM_NEWROUTE) return undefined;
      const r = decodeRoute(m.body);
      return (table === 0 || r.table === table) && !(r.flags & C.RTM_F_CLONED) ? r : undefined;
    });
  }
}
