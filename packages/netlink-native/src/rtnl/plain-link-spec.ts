// The common create specs, checked without the schema: a veth pair given by its two names, and a
// bridge with its scalar settings (each with optional mtu, up, group, txqlen, alias or mark).
// Running the zod union for a veth cost about 3 KiB of garbage and most of a create's validation
// time in a 1000-veth storm; for a pod's bridge, 0.1 ms of a container-side setup.
//
// Only input the schema surely accepts is taken here, and the result is what the schema returns
// for it (a fresh object with the same fields). Anything else, valid or not, returns undefined
// and goes through the schema, which gives the typed error naming the field.
import { LINK_KIND_REGISTRY } from "../packet/kinds/index.js";
import { isPlainObject, isPlainU32 } from "../validate.js";
import type { ParsedLinkAddSpec } from "./link-specs.js";
import { plainLinkField } from "./plain-link-field.js";

const MARK_TOKEN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The kinds checked here, and only while their schema has no cross-field check of its own (the
 * shortcut applies field rules only): a kind that gains one goes back to the schema.
 */
const HAND_CHECKED: ReadonlySet<string> = new Set<string>(
  LINK_KIND_REGISTRY.filter((k) => (k.kind === "veth" || k.kind === "bridge") && !k.check).map((k) => k.kind),
);

/** The spec as the schema would return it, or undefined when the schema must look at it. */
export function plainLinkSpec(input: unknown): ParsedLinkAddSpec | undefined {
  if (!isPlainObject(input)) return undefined;
  const kind = input.kind;
  if (typeof kind !== "string" || !HAND_CHECKED.has(kind)) return undefined;
  const kindField = kind === "veth" ? plainVethField : plainBridgeField;
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = input[k];
    if (k === "kind") {
      out.kind = v;
      continue;
    }
    if (k === "mark") {
      const mark = plainMark(v);
      if (mark === undefined) return undefined;
      out.mark = mark;
      continue;
    }
    const own = kindField(k, v);
    if (own === false) return undefined;
    if (own === undefined) {
      // name, mtu, up, group, txqlen, alias; netns, mac, master, unknown keys: the schema's.
      if (plainLinkField(k, v) !== true) return undefined;
      out[k] = v;
    } else out[k] = own;
  }
  if (out.name === undefined) return undefined;
  if (kind === "veth" && out.peer === undefined) return undefined;
  if (out.alias !== undefined && out.mark !== undefined) return undefined; // the schema's error
  return out as ParsedLinkAddSpec;
}

/** The veth-only field `peer`: its checked copy, false when not plain, undefined for other keys. */
function plainVethField(key: string, v: unknown): unknown {
  if (key !== "peer") return undefined;
  if (!isPlainObject(v)) return false;
  const peer: Record<string, unknown> = {};
  for (const pk in v) {
    const pv = v[pk];
    if ((pk !== "name" && pk !== "mtu") || plainLinkField(pk, pv) !== true) return false;
    peer[pk] = pv;
  }
  return peer.name === undefined ? false : peer;
}

const isIntIn = (v: unknown, min: number, max: number): boolean =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** The bridge's own scalar settings: the value, false when not plain, undefined for other keys. */
function plainBridgeField(key: string, v: unknown): unknown {
  switch (key) {
    case "ageingTime":
    case "forwardDelay":
    case "helloTime":
    case "maxAge":
      return isPlainU32(v) ? v : false;
    case "stp":
    case "vlanFiltering":
    case "multicastSnooping":
      return typeof v === "boolean" ? v : false;
    case "priority":
      return isIntIn(v, 0, 65535) ? v : false;
    case "vlanDefaultPvid":
      return isIntIn(v, 0, 4094) ? v : false;
    default:
      return undefined;
  }
}

/** `{ owner, role }`, both plain tokens: a fresh copy, or undefined for the schema to judge. */
function plainMark(v: unknown): { owner: unknown; role: unknown } | undefined {
  if (!isPlainObject(v)) return undefined;
  let n = 0;
  for (const mk in v) {
    if ((mk !== "owner" && mk !== "role") || typeof v[mk] !== "string" || !MARK_TOKEN.test(v[mk] as string))
      return undefined;
    n++;
  }
  return n === 2 ? { owner: v.owner, role: v.role } : undefined;
}
