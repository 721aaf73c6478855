// A 1.0.0/1.1.0 result read without running its zod schema: the shape every current plugin prints.
// The schema (an object of arrays of objects, each field refined by the address parsers) costs
// about 0.3 ms and a few hundred objects per result; a VM's network setup reads one per pod.
//
// Only a document the schema surely accepts is taken, and the copy returned is the one the schema
// returns (the same fields in the schema's order, keys the spec does not define dropped). Anything
// else, valid or not, returns undefined and goes through the schema, which names the bad field.
import { explainCidr, explainIp, explainMac, ipFamily } from "./ip.js";
import type { Dns, InterfaceV1, IpConfigV1, ResultV1, Route } from "./types.js";
import type { V1Version } from "./versions.js";

type Doc = Record<string, unknown>;

const isDoc = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isIntIn = (v: unknown, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isAddress = (v: unknown): v is string => isString(v) && explainIp(v) === undefined;
const isCidr = (v: unknown): v is string => isString(v) && explainCidr(v) === undefined;

/** The result as the schema returns it, or undefined when the schema must look at it. */
export function plainResultV1(doc: Doc, version: V1Version): ResultV1 | undefined {
  const out: ResultV1 = { cniVersion: version };
  const interfaces = plainList(doc, "interfaces", plainInterface);
  if (interfaces === false) return undefined;
  if (interfaces) out.interfaces = interfaces;
  const count = interfaces ? interfaces.length : undefined;
  const ips = plainList(doc, "ips", (ip) => plainIp(ip, count));
  if (ips === false) return undefined;
  if (ips) out.ips = ips;
  const routes = plainList(doc, "routes", plainRoute);
  if (routes === false) return undefined;
  if (routes) out.routes = routes;
  if (doc.dns !== undefined) {
    const dns = plainDns(doc.dns);
    if (!dns) return undefined;
    out.dns = dns;
  } else if ("dns" in doc) return undefined;
  return out;
}

/**
 * `doc[key]` as a list of plain copies: undefined when the key is absent, false when the schema
 * must judge it (not an array, an entry not plain, or the key given as undefined).
 */
function plainList<T>(doc: Doc, key: string, each: (v: unknown) => T | undefined): T[] | undefined | false {
  const value = doc[key];
  if (value === undefined) return key in doc ? false : undefined;
  if (!Array.isArray(value)) return false;
  const list: T[] = [];
  for (const entry of value) {
    const copy = each(entry);
    if (copy === undefined) return false;
    list.push(copy);
  }
  return list;
}

/**
 * Copies the optional fields of `from` that pass `ok` into `to`, in the order given; false when
 * one is present but not plain (a key given as undefined included: the schema keeps it).
 */
function copyOptional(
  from: Doc,
  to: Doc,
  fields: readonly (readonly [string, (v: unknown) => boolean])[],
): boolean {
  for (const [key, ok] of fields) {
    const v = from[key];
    if (v === undefined) {
      if (key in from) return false;
      continue;
    }
    if (!ok(v)) return false;
    to[key] = v;
  }
  return true;
}

const INTERFACE_FIELDS = [
  ["mac", (v: unknown) => isString(v) && explainMac(v) === undefined],
  ["mtu", (v: unknown) => isIntIn(v, 0x7fffffff)],
  ["sandbox", isString],
  ["socketPath", isString],
  ["pciID", isString],
] as const;

function plainInterface(i: unknown): InterfaceV1 | undefined {
  if (!isDoc(i) || !isString(i.name) || i.name.length === 0) return undefined;
  const out: InterfaceV1 = { name: i.name };
  return copyOptional(i, out as unknown as Doc, INTERFACE_FIELDS) ? out : undefined;
}

/** An `ips` entry, with checkIpEntries' rules: gateway of the address's family, index in range. */
function plainIp(ip: unknown, interfaceCount: number | undefined): IpConfigV1 | undefined {
  if (!isDoc(ip) || !isCidr(ip.address)) return undefined;
  const out: IpConfigV1 = { address: ip.address };
  const { gateway, interface: index } = ip;
  if (gateway !== undefined) {
    if (!isAddress(gateway) || ipFamily(gateway) !== ipFamily(ip.address)) return undefined;
    out.gateway = gateway;
  } else if ("gateway" in ip) return undefined;
  if (index !== undefined) {
    if (!isIntIn(index, Number.MAX_SAFE_INTEGER)) return undefined;
    if (interfaceCount !== undefined && index >= interfaceCount) return undefined;
    out.interface = index;
  } else if ("interface" in ip) return undefined;
  return out;
}

const ROUTE_FIELDS = [
  ["mtu", (v: unknown) => isIntIn(v, 0xffffffff)],
  ["advmss", (v: unknown) => isIntIn(v, 0xffffffff)],
  ["priority", (v: unknown) => isIntIn(v, 0xffffffff)],
  ["table", (v: unknown) => isIntIn(v, 0xffffffff)],
  ["scope", (v: unknown) => isIntIn(v, 255)],
] as const;

/** A route, with checkNextHop's rule: the next hop of the destination's family. */
function plainRoute(r: unknown): Route | undefined {
  if (!isDoc(r) || !isCidr(r.dst)) return undefined;
  const out: Route = { dst: r.dst };
  if (r.gw !== undefined) {
    if (!isAddress(r.gw) || ipFamily(r.gw) !== ipFamily(r.dst)) return undefined;
    out.gw = r.gw;
  } else if ("gw" in r) return undefined;
  return copyOptional(r, out as unknown as Doc, ROUTE_FIELDS) ? out : undefined;
}

const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const DNS_FIELDS = [
  ["nameservers", (v: unknown) => Array.isArray(v) && v.every(isAddress)],
  ["domain", isString],
  ["search", isStringList],
  ["options", isStringList],
] as const;

function plainDns(d: unknown): Dns | undefined {
  if (!isDoc(d)) return undefined;
  const out: Dns = {};
  if (!copyOptional(d, out as Doc, DNS_FIELDS)) return undefined;
  // Arrays are copied, as the schema copies them.
  for (const key of ["nameservers", "search", "options"] as const)
    if (out[key]) out[key] = [...(out[key] as string[])];
  return out;
}
