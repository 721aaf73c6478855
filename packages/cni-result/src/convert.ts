// Converting results between spec versions, with the rules libcni applies (pkg/types/020, 040,
// 100 and the converter registry in pkg/types/internal):
//
// - Within a family (0.1.0/0.2.0, 0.3.x/0.4.0, 1.0.0/1.1.0) only `cniVersion` changes. libcni
//   keeps 1.1.0 fields when it relabels a 1.1.0 result as 1.0.0, because both share one type.
// - 0.1.0/0.2.0 -> newer: `ip4` then `ip6` become `ips` entries (no interface index: the legacy
//   result names no interface), their routes are concatenated, DNS is kept.
// - 0.3.x/0.4.0 -> 1.x: `ips[].version` is dropped.
// - 1.x -> 0.3.x/0.4.0: `ips[].version` is derived from the address; interfaces keep only
//   name/mac/sandbox. Routes are copied whole (libcni's route type is the same in every version).
// - newer -> 0.1.0/0.2.0: the first IPv4 and the first IPv6 entry become `ip4`/`ip6`, further
//   ones are dropped (not an error in libcni); each route goes to `ip4` or `ip6` by its
//   destination's family, only `dst`/`gw` kept, and is dropped when that family has no IP.
//   Interfaces are dropped. It fails only when there is no IP at all.
//
// `strict: true` refuses every conversion that would drop or carry something the target spec
// version does not define, and says what and where.

import { CniResultError } from "./errors.js";
import { ipFamily } from "./ip.js";
import type {
  CniResult,
  Interface040,
  IpConfig040,
  LegacyIpConfig,
  LegacyRoute,
  Result020,
  Result040,
  ResultV1,
  Route,
} from "./types.js";
import {
  CNI_VERSIONS,
  type CniVersion,
  isCniVersion,
  isLegacyVersion,
  isV1Version,
  isV04xVersion,
  type LegacyVersion,
  type V1Version,
  type V04xVersion,
} from "./versions.js";

/** The result type of a given version. */
export type ResultOf<V extends CniVersion> = V extends LegacyVersion
  ? Result020
  : V extends V04xVersion
    ? Result040
    : ResultV1;

export interface ConvertOptions {
  /** Fail instead of dropping what the target version cannot hold (libcni drops silently). */
  strict?: boolean;
}

const V11_INTERFACE_FIELDS = ["mtu", "socketPath", "pciID"] as const;
const V11_ROUTE_FIELDS = ["mtu", "advmss", "priority", "table", "scope"] as const;

function lossError(path: string, reason: string): CniResultError {
  return new CniResultError(path, reason);
}

function noInterfaces(toVersion: LegacyVersion): CniResultError {
  return lossError("interfaces", `${toVersion} results have no interfaces`);
}

function copyDns<T extends { dns?: CniResult["dns"] }>(from: CniResult, to: T): T {
  if (from.dns !== undefined) to.dns = structuredClone(from.dns);
  return to;
}

function copyRoute(route: Route): Route {
  return { ...route };
}

function legacyToV04x(from: Result020, toVersion: V04xVersion): Result040 {
  const ips: IpConfig040[] = [];
  const routes: Route[] = [];
  for (const [config, version] of [
    [from.ip4, "4"],
    [from.ip6, "6"],
  ] as const) {
    if (!config) continue;
    ips.push(
      config.gateway === undefined
        ? { version, address: config.ip }
        : { version, address: config.ip, gateway: config.gateway },
    );
    for (const route of config.routes ?? []) routes.push(copyRoute(route));
  }
  const to: Result040 = { cniVersion: toVersion };
  if (ips.length > 0) to.ips = ips;
  if (routes.length > 0) to.routes = routes;
  return copyDns(from, to);
}

function v04xToV1(from: Result040, toVersion: V1Version): ResultV1 {
  const to: ResultV1 = { cniVersion: toVersion };
  if (from.interfaces) to.interfaces = from.interfaces.map((iface) => ({ ...iface }));
  if (from.ips) {
    to.ips = from.ips.map(({ version: _version, ...rest }) => rest);
  }
  if (from.routes) to.routes = from.routes.map(copyRoute);
  return copyDns(from, to);
}

/** `target` is the version named in strict-mode errors: the final one when 0.4.0 is a waypoint. */
function v1ToV04x(
  from: ResultV1,
  toVersion: V04xVersion,
  strict: boolean,
  target: CniVersion = toVersion,
): Result040 {
  const to: Result040 = { cniVersion: toVersion };
  if (from.interfaces) {
    to.interfaces = from.interfaces.map((iface, i): Interface040 => {
      if (strict) {
        for (const field of V11_INTERFACE_FIELDS) {
          if (iface[field] !== undefined) {
            throw lossError(`interfaces[${i}].${field}`, `${target} interfaces have no ${field}`);
          }
        }
      }
      const out: Interface040 = { name: iface.name };
      if (iface.mac !== undefined) out.mac = iface.mac;
      if (iface.sandbox !== undefined) out.sandbox = iface.sandbox;
      return out;
    });
  }
  if (from.ips) {
    to.ips = from.ips.map((ip): IpConfig040 => ({ version: ipFamily(ip.address) === 4 ? "4" : "6", ...ip }));
  }
  if (from.routes) {
    if (strict) checkRouteFields(from.routes, target);
    to.routes = from.routes.map(copyRoute);
  }
  return copyDns(from, to);
}

function checkRouteFields(routes: readonly Route[], toVersion: CniVersion): void {
  for (const [i, route] of routes.entries()) {
    for (const field of V11_ROUTE_FIELDS) {
      if (route[field] !== undefined) {
        throw lossError(`routes[${i}].${field}`, `${toVersion} routes have no ${field}`);
      }
    }
  }
}

function v04xToLegacy(from: Result040, toVersion: LegacyVersion, strict: boolean): Result020 {
  if (strict && from.interfaces && from.interfaces.length > 0) throw noInterfaces(toVersion);
  const to: Result020 = { cniVersion: toVersion };
  for (const [i, ip] of (from.ips ?? []).entries()) {
    const key = ip.version === "4" ? "ip4" : "ip6";
    if (to[key]) {
      if (strict)
        throw lossError(`ips[${i}]`, `${toVersion} holds one IPv${ip.version} address; this is another`);
      continue;
    }
    if (strict && ip.interface !== undefined) {
      throw lossError(`ips[${i}].interface`, `${toVersion} IPs name no interface`);
    }
    const config: LegacyIpConfig = { ip: ip.address };
    if (ip.gateway !== undefined) config.gateway = ip.gateway;
    to[key] = config;
  }
  if (!to.ip4 && !to.ip6) {
    throw new CniResultError("ips", `cannot convert to ${toVersion}: the result has no IP address`);
  }
  for (const [i, route] of (from.routes ?? []).entries()) {
    const config = ipFamily(route.dst) === 4 ? to.ip4 : to.ip6;
    if (strict) {
      for (const field of V11_ROUTE_FIELDS) {
        if (route[field] !== undefined)
          throw lossError(`routes[${i}].${field}`, `${toVersion} routes have no ${field}`);
      }
      if (!config) {
        throw lossError(
          `routes[${i}]`,
          `${toVersion} has no IPv${ipFamily(route.dst)} address to hold this route`,
        );
      }
    }
    if (!config) continue;
    const legacy: LegacyRoute = { dst: route.dst };
    if (route.gw !== undefined) legacy.gw = route.gw;
    config.routes = [...(config.routes ?? []), legacy];
  }
  return copyDns(from, to);
}

function relabel<T extends CniResult>(from: T, toVersion: CniVersion): T {
  return { ...structuredClone(from), cniVersion: toVersion } as T;
}

function convertAny(result: CniResult, toVersion: CniVersion, strict: boolean): CniResult {
  const from = result.cniVersion;
  if (isLegacyVersion(from)) {
    if (isLegacyVersion(toVersion)) return relabel(result, toVersion);
    const v04x = legacyToV04x(result as Result020, isV04xVersion(toVersion) ? toVersion : "0.4.0");
    return isV04xVersion(toVersion) ? v04x : v04xToV1(v04x, toVersion as V1Version);
  }
  if (isV04xVersion(from)) {
    if (isV04xVersion(toVersion)) return relabel(result, toVersion);
    if (isV1Version(toVersion)) return v04xToV1(result as Result040, toVersion);
    return v04xToLegacy(result as Result040, toVersion as LegacyVersion, strict);
  }
  if (isV1Version(toVersion)) {
    if (strict && from === "1.1.0" && toVersion === "1.0.0") checkV11Fields(result as ResultV1);
    return relabel(result, toVersion);
  }
  if (isV04xVersion(toVersion)) return v1ToV04x(result as ResultV1, toVersion, strict);
  const legacy = toVersion as LegacyVersion;
  const v1 = result as ResultV1;
  // Name the biggest loss first: a legacy result has no interfaces at all.
  if (strict && v1.interfaces && v1.interfaces.length > 0) throw noInterfaces(legacy);
  return v04xToLegacy(v1ToV04x(v1, "0.4.0", strict, legacy), legacy, strict);
}

function checkV11Fields(result: ResultV1): void {
  for (const [i, iface] of (result.interfaces ?? []).entries()) {
    for (const field of V11_INTERFACE_FIELDS) {
      if (iface[field] !== undefined)
        throw lossError(`interfaces[${i}].${field}`, `1.0.0 interfaces have no ${field}`);
    }
  }
  checkRouteFields(result.routes ?? [], "1.0.0");
}

/**
 * Converts a result to another spec version, up or down, as libcni does (see the rules at the
 * top of this file). Returns a new object; the input is not changed.
 */
export function convertResult<V extends CniVersion>(
  result: CniResult,
  toVersion: V,
  options: ConvertOptions = {},
): ResultOf<V> {
  if (!isCniVersion(toVersion)) {
    throw new CniResultError(
      "cniVersion",
      `cannot convert to unsupported version ${JSON.stringify(toVersion)} (supported: ${CNI_VERSIONS.join(", ")})`,
    );
  }
  if (!isCniVersion(result.cniVersion)) {
    throw new CniResultError("cniVersion", `unsupported version ${JSON.stringify(result.cniVersion)}`);
  }
  return convertAny(result, toVersion, options.strict === true) as ResultOf<V>;
}

/** The result as a 1.x result (Virtlet's `cnicurrent.Result`); 1.x results come back as they are. */
export function toCurrent(result: CniResult, version: V1Version = "1.0.0"): ResultV1 {
  return isV1Version(result.cniVersion) ? (result as ResultV1) : convertResult(result, version);
}
