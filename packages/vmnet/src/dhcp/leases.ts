// CNI result -> the leases to serve: one per interface that has an IPv4 address, keyed by the
// interface's name, carrying exactly what the result says (address, prefix, gateway, the routes
// that belong to that interface, DNS) and nothing invented. The only additions are the caller's:
// an MTU override (guests that ignore option 26 are common, and a 1.1.0 result's interface MTU is
// used otherwise), a host name and the lease time. Pure.
import {
  CniResultError,
  ipFamily,
  ipsForInterface,
  parseResult,
  routesForInterface,
  toCurrent,
} from "@vmnet/cni-result";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";
import { checkInput, DEFAULT_LEASE_TIME_S, ifNameSchema, leaseSchema } from "./schema.js";
import type { DhcpLease } from "./types.js";

export interface LeasesFromResultOptions {
  /** MTU to announce (option 26): one for every interface, or per CNI interface name. */
  mtu?: number | Record<string, number>;
  /** Lease time in seconds (default 86400). */
  leaseTimeS?: number;
  /** Host name to announce (option 12). */
  hostname?: string;
}

const mtuSchema = z
  .number()
  .int("must be an integer")
  .min(68, "must be at least 68")
  .max(65535, "must be at most 65535");
const optionsSchema = z.strictObject({
  mtu: z.union([mtuSchema, z.record(ifNameSchema, mtuSchema)]).optional(),
  leaseTimeS: leaseSchema.shape.leaseTimeS.optional(),
  hostname: leaseSchema.shape.hostname,
});

/** A CNI result of any version, parsed; its errors become VmnetInputError naming `result.<path>`. */
export function parseResultInput(result: unknown): {
  parsed: ReturnType<typeof parseResult>;
  current: ReturnType<typeof toCurrent>;
} {
  let parsed: ReturnType<typeof parseResult>;
  try {
    parsed = parseResult(result);
  } catch (error) {
    if (error instanceof CniResultError)
      throw new VmnetInputError(error.path ? `result.${error.path}` : "result", error.reason);
    throw error;
  }
  return { parsed, current: toCurrent(parsed) };
}

export function leasesFromResult(
  result: unknown,
  options: LeasesFromResultOptions = {},
): Map<string, DhcpLease> {
  const opts = checkInput(optionsSchema, options, "options");
  const { parsed, current } = parseResultInput(result);
  const leases = new Map<string, DhcpLease>();
  const interfaces = current.interfaces ?? [];
  interfaces.forEach((iface, index) => {
    const ip = ipsForInterface(parsed, index).find((entry) => ipFamily(entry.address) === 4);
    if (!ip) return;
    if (iface.mac === undefined) {
      throw new VmnetInputError(
        `result.interfaces[${index}].mac`,
        "missing: the guest is recognised by its MAC",
      );
    }
    const [address = "", prefix = "32"] = ip.address.split("/");
    const mtu = typeof opts.mtu === "number" ? opts.mtu : (opts.mtu?.[iface.name] ?? iface.mtu);
    const dns = current.dns ?? {};
    const lease: DhcpLease = {
      clientMac: iface.mac,
      address,
      prefixLength: Number(prefix),
      ...(ip.gateway !== undefined && { gateway: ip.gateway }),
      routes: routesForInterface(parsed, index)
        .filter((r) => ipFamily(r.dst) === 4)
        .map((r) => (r.gw === undefined ? { dst: r.dst } : { dst: r.dst, gw: r.gw })),
      nameservers: (dns.nameservers ?? []).filter((n) => ipFamily(n) === 4),
      search: dns.search ?? [],
      ...(dns.domain !== undefined && dns.domain !== "" && { domain: dns.domain }),
      ...(mtu !== undefined && { mtu }),
      ...(opts.hostname !== undefined && { hostname: opts.hostname }),
      leaseTimeS: opts.leaseTimeS ?? DEFAULT_LEASE_TIME_S,
    };
    leases.set(iface.name, checkInput(leaseSchema, lease, `lease for ${iface.name}`));
  });
  if (leases.size === 0) {
    const unplaced = (current.ips ?? []).findIndex(
      (ip) => ipFamily(ip.address) === 4 && ip.interface === undefined,
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
