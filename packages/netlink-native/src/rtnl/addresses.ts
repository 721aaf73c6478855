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
import { check, cidr, ip, isCidr, isIfindex } from "../validate.js";
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

const addrAdd = (req: AddrRequest) => R.addrAdd(req);
const addrReplace = (req: AddrRequest) => R.addrAdd(req, true);

export class Addresses {
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly links: Links,
  ) {}

  /**
   * Validates and parses an address and its options into a request (its index filled in by the
   * caller). Synchronous: the link is resolved after, so bad input is refused before any lookup.
   */
  private build(address: string, options: AddressOptions | undefined): AddrRequest {
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
    let flags = 0;
    if (o.nodad) flags |= C.IFA_F_NODAD;
    if (o.noprefixroute) flags |= C.IFA_F_NOPREFIXROUTE;
    // Fields set one by one (no spread of an optional object per option).
    const req: AddrRequest = { family: c.family, prefix: c.prefix, index: 0, local: c.address, flags };
    if (o.peer !== undefined) req.peer = o.peer;
    if (o.broadcast !== undefined && o.broadcast !== "+") req.broadcast = o.broadcast;
    if (valid !== undefined) req.validLifetime = valid;
    if (preferred !== undefined) req.preferredLifetime = preferred;
    if (o.scope !== undefined) req.scope = SCOPES[o.scope];
    if (o.label !== undefined) req.label = o.label;
    if (o.broadcast === "+") {
      const derived = broadcastOf(c.address, c.prefix);
      if (derived !== undefined) req.derivedBroadcast = derived;
    }
    return req;
  }

  /** Builds, resolves the link and sends one address request; settles with the kernel's answer. */
  private async send(
    op: string,
    link: LinkRef,
    address: string,
    options: AddressOptions | undefined,
    encode: (req: AddrRequest) => R.Request,
  ): Promise<void> {
    await this.conn.admit();
    const req = this.build(address, options);
    req.index = isIfindex(link) ? link : await this.links.index(link);
    const r = encode(req);
    await this.conn.request(r.type, r.flags, r.body, { op, object: `${address} dev ${link}` });
  }

  /** Adds an address ("10.0.0.1/24", "2001:db8::1/64"); EEXIST if it is there. */
  add(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    return this.send("addr add", link, address, options, addrAdd);
  }

  /** Adds or updates the address: idempotent. */
  replace(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    return this.send("addr replace", link, address, options, addrReplace);
  }

  /** Same as replace(): the address is there afterwards, whatever was before. */
  ensure(link: LinkRef, address: string, options?: AddressOptions): Promise<void> {
    return this.replace(link, address, options);
  }

  delete(link: LinkRef, address: string): Promise<void> {
    return this.send("addr del", link, address, undefined, R.addrDelete);
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
