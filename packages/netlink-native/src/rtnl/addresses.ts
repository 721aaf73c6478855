import { z } from "zod";
import { parseCidr } from "../codec/addresses.js";
import * as C from "../codec/constants.js";
import type { NetlinkConnection } from "../connection.js";
import { NetlinkError, NetlinkInputError } from "../errors.js";
import {
  type Address,
  type AddrRequest,
  broadcastOf,
  decodeAddress,
  encodeAddrDumpBody,
  INFINITY_LIFETIME,
} from "../packet/addr-message.js";
import * as R from "../packet/requests.js";
import { check, cidr, ip, isCidr } from "../validate.js";
import type { LinkRef, Links } from "./links.js";

export const SCOPES = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type ScopeName = keyof typeof SCOPES;

const lifetime = z.union([
  z.literal("forever"),
  z
    .number()
    .int("must be whole seconds")
    .min(0, "must be >= 0")
    .max(0xfffffffe, 'must be below 4294967295 (or "forever")'),
]);

const addrOptions = z
  .object({
    peer: ip.optional(),
    /** An IPv4 broadcast address, or "+" for the one derived from the prefix (iproute2's `brd +`). */
    broadcast: z.union([z.literal("+"), ip]).optional(),
    /** Seconds until the address is removed (`valid_lft`); default forever. */
    validLifetime: lifetime.optional(),
    /** Seconds until it is deprecated (`preferred_lft`), at most validLifetime; default forever. */
    preferredLifetime: lifetime.optional(),
    scope: z.enum(["universe", "site", "link", "host", "nowhere"]).optional(),
    /** IPv6: skip duplicate address detection (usable at once). */
    nodad: z.boolean().optional(),
    /** Do not add the prefix route. */
    noprefixroute: z.boolean().optional(),
    label: z.string().max(15).optional(),
  })
  .strict();
export type AddressOptions = z.input<typeof addrOptions>;

/** No options at all (undefined or `{}`): nothing for the schema to check. */
function isEmptyOptions(options: unknown): boolean {
  if (options === undefined) return true;
  if (typeof options !== "object" || options === null || Object.getPrototypeOf(options) !== Object.prototype)
    return false;
  for (const _ in options) return false;
  return true;
}

export class Addresses {
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly links: Links,
  ) {}

  private async build(link: LinkRef, address: string, options: AddressOptions = {}) {
    await this.conn.admit();
    // The common call (a well-formed address, no options) skips the schema runs.
    if (!(typeof address === "string" && isCidr(address))) check(cidr, address, "address");
    const o: z.output<typeof addrOptions> = isEmptyOptions(options)
      ? {}
      : check(addrOptions, options, "options");
    const c = parseCidr(address);
    if (o.broadcast !== undefined && (c.family !== C.AF_INET || o.broadcast.includes(":")))
      throw new NetlinkInputError("options.broadcast", "is for IPv4 addresses only");
    const valid = o.validLifetime === "forever" ? INFINITY_LIFETIME : o.validLifetime;
    const preferred = o.preferredLifetime === "forever" ? INFINITY_LIFETIME : o.preferredLifetime;
    if (valid === 0) throw new NetlinkInputError("options.validLifetime", "must be above 0");
    if ((preferred ?? INFINITY_LIFETIME) > (valid ?? INFINITY_LIFETIME))
      throw new NetlinkInputError("options.preferredLifetime", "must not exceed validLifetime");
    const index = await this.links.index(link);
    let flags = 0;
    if (o.nodad) flags |= C.IFA_F_NODAD;
    if (o.noprefixroute) flags |= C.IFA_F_NOPREFIXROUTE;
    const req: AddrRequest = {
      family: c.family,
      prefix: c.prefix,
      index,
      local: c.address,
      ...(o.peer !== undefined && { peer: o.peer }),
      ...(o.broadcast !== undefined && o.broadcast !== "+" && { broadcast: o.broadcast }),
      ...(valid !== undefined && { validLifetime: valid }),
      ...(preferred !== undefined && { preferredLifetime: preferred }),
      ...(o.scope !== undefined && { scope: SCOPES[o.scope] }),
      ...(o.label !== undefined && { label: o.label }),
      flags,
    };
    const derived = o.broadcast === "+" ? broadcastOf(c.address, c.prefix) : undefined;
    if (derived !== undefined) req.derivedBroadcast = derived;
    return { req, context: { op: "", object: `${address} dev ${link}` } };
  }

  /** Adds an address ("10.0.0.1/24", "2001:db8::1/64"); EEXIST if it is there. */
  async add(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    const { req, context } = await this.build(link, address, options);
    const r = R.addrAdd(req);
    await this.conn.request(r.type, r.flags, r.body, { ...context, op: "addr add" });
  }

  /** Adds or updates the address: idempotent. */
  async replace(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    const { req, context } = await this.build(link, address, options);
    const r = R.addrAdd(req, true);
    await this.conn.request(r.type, r.flags, r.body, { ...context, op: "addr replace" });
  }

  /** Same as replace(): the address is there afterwards, whatever was before. */
  ensure(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    return this.replace(link, address, options);
  }

  async delete(link: LinkRef, address: string): Promise<void> {
    const { req, context } = await this.build(link, address);
    const r = R.addrDelete(req);
    await this.conn.request(r.type, r.flags, r.body, { ...context, op: "addr del" });
  }

  /** Deletes the address if present; true when something was deleted. */
  async deleteIfPresent(link: LinkRef, address: string): Promise<boolean> {
    try {
      await this.delete(link, address);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === "EADDRNOTAVAIL" || e.code === "ENOENT")) return false;
      throw e;
    }
  }

  /** Addresses of one link or all, optionally of one family ("inet" | "inet6"). */
  async list(filter: { link?: LinkRef; family?: "inet" | "inet6" } = {}): Promise<Address[]> {
    const family =
      filter.family === "inet" ? C.AF_INET : filter.family === "inet6" ? C.AF_INET6 : C.AF_UNSPEC;
    const index = filter.link === undefined ? 0 : await this.links.index(filter.link);
    // Decoded as the answers arrive (a slice per turn), not all at once after the dump.
    return this.conn.dumpDecoded(C.RTM_GETADDR, encodeAddrDumpBody(family), { op: "addr list" }, (m) => {
      if (m.type !== C.RTM_NEWADDR) return undefined;
      const a = decodeAddress(m.body);
      return (index === 0 || a.index === index) && (family === C.AF_UNSPEC || a.family === family)
        ? a
        : undefined;
    });
  }
}
