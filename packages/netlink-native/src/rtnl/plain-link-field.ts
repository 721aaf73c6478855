// One field of a link spec or change set, checked without the schema: the fields that a create
// spec and `links.set` share, with the same plain-validity rule in both shortcuts
// (plain-link-spec.ts, plain-link-changes.ts).
import { isPlainAlias, isPlainIfName, isPlainMtu, isPlainU32 } from "../validate.js";

/** Whether `value` is plainly valid for `key`; undefined when `key` is not one of these fields. */
export function plainLinkField(key: string, value: unknown): boolean | undefined {
  switch (key) {
    case "name":
      return isPlainIfName(value);
    case "up":
      return typeof value === "boolean";
    case "mtu":
      return isPlainMtu(value);
    case "group":
    case "txqlen":
      return isPlainU32(value);
    case "alias":
      return isPlainAlias(value);
    default:
      return undefined;
  }
}
