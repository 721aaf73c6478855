// The usual `links.set` changes, checked without the schema: any of up, promisc, mtu, txqlen,
// group, alias, name and master (an ifindex, a plain name, or null), each plainly valid. A setup
// marks, groups and enslaves links this way (vmnet tags every TAP of a storm with its alias and
// group), and the object schema ran once per call.
//
// Only input the schema surely accepts is taken; the input is returned as it is (set() only reads
// it, and the schema would return the same fields). Anything else, valid or not (a MAC, a netns,
// an unknown key), returns undefined and goes through the schema and its typed errors.
import { isIfindex, isPlainIfName, isPlainObject } from "../validate.js";
import type { LinkChanges } from "./link-specs.js";
import { plainLinkField } from "./plain-link-field.js";

export function plainLinkChanges(input: unknown): LinkChanges | undefined {
  if (!isPlainObject(input)) return undefined;
  for (const k in input) {
    const v = input[k];
    switch (k) {
      case "promisc":
        if (typeof v !== "boolean") return undefined;
        break;
      case "master":
        if (v !== null && !isIfindex(v) && !isPlainIfName(v)) return undefined;
        break;
      default:
        // up, mtu, txqlen, group, alias, name; a MAC, a netns, unknown keys: the schema's.
        if (plainLinkField(k, v) !== true) return undefined;
    }
  }
  return input as LinkChanges;
}
