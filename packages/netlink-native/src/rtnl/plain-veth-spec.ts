// The common create spec, checked without the schema: a veth pair given by its two names (with
// optional mtu, up, group, txqlen, alias or mark). Running the zod union for it cost about 3 KiB
// of garbage and most of a create's validation time in a 1000-veth storm.
//
// Only input the schema surely accepts is taken here, and the result is what the schema returns
// for it (a fresh object with the same fields). Anything else, valid or not, returns undefined
// and goes through the schema, which gives the typed error naming the field.
import { isPlainObject } from "../validate.js";
import type { ParsedLinkAddSpec } from "./link-specs.js";
import { plainLinkField } from "./plain-link-field.js";

const MARK_TOKEN = /^[A-Za-z0-9._-]{1,64}$/;

/** The spec as the schema would return it, or undefined when the schema must look at it. */
export function plainVethSpec(input: unknown): ParsedLinkAddSpec | undefined {
  if (!isPlainObject(input) || input.kind !== "veth") return undefined;
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = input[k];
    switch (k) {
      case "kind":
        break;
      case "peer": {
        if (!isPlainObject(v)) return undefined;
        const peer: Record<string, unknown> = {};
        for (const pk in v) {
          const pv = v[pk];
          if ((pk !== "name" && pk !== "mtu") || plainLinkField(pk, pv) !== true) return undefined;
          peer[pk] = pv;
        }
        if (peer.name === undefined) return undefined;
        out.peer = peer;
        continue;
      }
      case "mark": {
        if (!isPlainObject(v)) return undefined;
        let n = 0;
        for (const mk in v) {
          if (
            (mk !== "owner" && mk !== "role") ||
            typeof v[mk] !== "string" ||
            !MARK_TOKEN.test(v[mk] as string)
          )
            return undefined;
          n++;
        }
        if (n !== 2) return undefined;
        out.mark = { owner: v.owner, role: v.role };
        continue;
      }
      default:
        // name, mtu, up, group, txqlen, alias; netns, mac, master, unknown keys: the schema's.
        if (plainLinkField(k, v) !== true) return undefined;
    }
    out[k] = v;
  }
  if (out.name === undefined || out.peer === undefined) return undefined;
  if (out.alias !== undefined && out.mark !== undefined) return undefined; // the schema's error
  return out as ParsedLinkAddSpec;
}
