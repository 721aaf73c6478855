// A route spec checked without the schema: the routes a dump reads back and a caller deletes or
// restores (dst, gateway, dev by ifindex, table, protocol, scope, type, metric and the rest of the
// single-path fields). zod's object with its unions cost about 0.1 ms per route in a setup that
// strips a pod's routes.
//
// Only input the schema surely accepts is taken, and the result is what the schema returns for it
// (a fresh object with the same fields). Anything else (multipath, a dev by name, a bad value)
// returns undefined and goes through the schema, which gives the typed error naming the field.

import { isCidr, isIfindex, isIpText, isPlainMtu, isPlainObject, isPlainU32 } from "../validate.js";
import { SCOPES } from "./addresses.js";
import { isNameIn, ROUTE_PROTOCOLS, ROUTE_TYPES } from "./route-names.js";
import type { RouteSpec } from "./routes.js";

/** Whether `value` is plainly valid for the route field `key` (false for fields left to the schema). */
function plainRouteField(key: string, v: unknown): boolean {
  switch (key) {
    case "dst":
      return v === "default" || (typeof v === "string" && isCidr(v));
    case "src":
      return typeof v === "string" && isCidr(v);
    case "gateway":
    case "prefsrc":
      return isIpText(v);
    case "dev":
      return isIfindex(v);
    case "metric":
    case "table":
    case "advmss":
      return isPlainU32(v);
    case "protocol":
      return typeof v === "string"
        ? isNameIn(ROUTE_PROTOCOLS, v)
        : Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
    case "scope":
      return isNameIn(SCOPES, v);
    case "type":
      return isNameIn(ROUTE_TYPES, v);
    case "onlink":
      return typeof v === "boolean";
    case "mtu":
      return isPlainMtu(v);
    default:
      return false;
  }
}

/** The spec as the schema would return it, or undefined when the schema must look at it. */
export function plainRouteSpec(input: unknown): RouteSpec | undefined {
  if (!isPlainObject(input)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = input[k];
    // The schema drops nothing and keeps an optional key given as undefined; leave those to it.
    if (!plainRouteField(k, v)) return undefined;
    out[k] = v;
  }
  return out.dst === undefined ? undefined : (out as RouteSpec);
}
