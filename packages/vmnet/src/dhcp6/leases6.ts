// CNI result -> the IPv6 leases to serve: one per interface that has an IPv6 address, keyed by the
// interface's name, with the result's IPv6 DNS servers and search list. Nothing is invented. Pure.
import { ipFamily, ipsForInterface } from "@vmnet/cni-result";
import { z } from "zod";
import { parseResultInput } from "../dhcp/leases.js";
import { checkInput } from "../dhcp/schema.js";
import { VmnetInputError } from "../errors.js";
import { DEFAULT_LEASE_TIME_S, lease6Schema } from "./schema.js";
import type { Dhcp6Lease } from "./types.js";

export interface Leases6FromResultOptions {
  /** Preferred and valid lifetime of the address, in seconds (default 86400). */
  leaseTimeS?: number;
}

const optionsSchema = z.strictObject({
  leaseTimeS: z
    .number()
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(0xffffffff, "must fit 32 bits")
    .optional(),
});

export function leases6FromResult(
  result: unknown,
  options: Leases6FromResultOptions = {},
): Map<string, Dhcp6Lease> {
  const opts = checkInput(optionsSchema, options, "options");
  const { parsed, current } = parseResultInput(result);
  const leases = new Map<string, Dhcp6Lease>();
  const dns = current.dns ?? {};
  (current.interfaces ?? []).forEach((iface, index) => {
    const ip = ipsForInterface(parsed, index).find((entry) => ipFamily(entry.address) === 6);
    if (!ip) return;
    if (iface.mac === undefined) {
      throw new VmnetInputError(
        `result.interfaces[${index}].mac`,
        "missing: the guest is recognised by its MAC",
      );
    }
    const [address = "", prefix = "128"] = ip.address.split("/");
    const time = opts.leaseTimeS ?? DEFAULT_LEASE_TIME_S;
    const lease: Dhcp6Lease = {
      clientMac: iface.mac,
      address,
      prefixLength: Number(prefix),
      nameservers: (dns.nameservers ?? []).filter((n) => ipFamily(n) === 6),
      search: dns.search ?? [],
      preferredLifetimeS: time,
      validLifetimeS: time,
    };
    leases.set(iface.name, checkInput(lease6Schema, lease, `lease for ${iface.name}`));
  });
  if (leases.size === 0) {
    const unplaced = (current.ips ?? []).findIndex(
      (ip) => ipFamily(ip.address) === 6 && ip.interface === undefined,
    );
    if (unplaced >= 0) {
      throw new VmnetInputError(
        `result.ips[${unplaced}].interface`,
        "missing: say which interface holds the address (fixResult completes a result from the links)",
      );
    }
  }
  return leases;
}
