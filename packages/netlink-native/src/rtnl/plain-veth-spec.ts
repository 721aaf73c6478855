// The common create spec, checked without the schema: a veth pair given by its two names (with
// optional mtu, up, group, txqlen, alias or mark). Running the zod union for it cost about 3 KiB
// of garbage and most of a create's validation time in a 1000-veth storm.
//
// Only input the schema surely accepts is taken here, and the result is what the schema returns
// for it (a fresh object with the same fields). Anything else, valid or not, returns undefined
// and goes through the schema, which gives the typed error naming the field.
import {
  isPlainMtu as isMtu,
  isPlainAlias,
  isPlainIfName,
  isPlainObject,
  isPlainU32 as isU32,
} from "../validate.js";
import type { ParsedLinkAddSpec } from "./link-specs.js";

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
      case "name":
        if (!isPlainIfName(v)) return undefined;
        break;
      case "peer": {
        if (!isPlainObject(v)) return undefined;
        const peer: Record<string, unknown> = {};
        for (const pk in v) {
          const pv = v[pk];
          if (pk === "name" ? !isPlainIfName(pv) : pk !== "mtu" || !isMtu(pv)) return undefined;
          peer[pk] = pv;
        }
        if (peer.name === undefined) return undefined;
        out.peer = peer;
        continue;
      }
      case "mtu":
        if (!isMtu(v)) return undefined;
        break;
      case "up":
        if (typeof v !== "boolean") return undefined;
        break;
      case "group":
      case "txqlen":
        if (!isU32(v)) return undefined;
        break;
      case "alias":
        if (!isPlainAlias(v)) return undefined;
        break;
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
        return undefined; // netns, mac, master, a peer's netns or mac, unknown keys: the schema's
    }
    out[k] = v;
  }
  if (out.name === undefined || out.peer === undefined) return undefined;
  if (out.alias !== undefined && out.mark !== undefined) return undefined; // the schema's error
  return out as ParsedLinkAddSpec;
}
