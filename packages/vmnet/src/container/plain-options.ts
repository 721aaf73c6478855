// setupContainerSideNetwork's usual options checked without the schema (0.1 ms of a setup): the
// same rules for the fields most callers pass. Anything else (masquerade options, TAP names, a
// netns given by pid, any bad value) returns undefined and goes through the schema, which names the
// field in its VmnetInputError. What is taken is a fresh object holding the same fields.
import type { z } from "zod";
import type { setupOptionsSchema } from "./options.js";

type SetupOptionsParsed = z.output<typeof setupOptionsSchema>;

const OWNER = /^[A-Za-z0-9._-]{1,64}$/;

/** The optional fields this shortcut knows (masquerade and taps are left to the schema). */
const OPTIONAL_KEYS = new Set([
  "result",
  "cniVersion",
  "vnetHdr",
  "queues",
  "mtu",
  "dhcp",
  "stateDir",
  "owner",
  "beforeStep",
]);

const isIntIn = (v: unknown, min: number, max: number): boolean =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

const isNonEmpty = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** A netns as a non-empty string or `{ path }` / `{ name }` holding only that non-empty string. */
function isPlainNetns(v: unknown): boolean {
  if (isNonEmpty(v)) return true;
  if (typeof v !== "object" || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  return (
    keys.length === 1 &&
    (keys[0] === "path" || keys[0] === "name") &&
    isNonEmpty((v as Record<string, unknown>)[keys[0]])
  );
}

function plainField(key: string, v: unknown): boolean {
  switch (key) {
    case "netns":
      return isPlainNetns(v);
    case "result":
      return v !== undefined; // anything: resolveResult reads it
    case "cniVersion":
      return v === "1.0.0" || v === "1.1.0";
    case "mode":
      return v === "bridge" || v === "tcfilter" || v === "masquerade";
    case "vnetHdr":
    case "dhcp":
      return typeof v === "boolean";
    case "queues":
      return isIntIn(v, 1, 256);
    case "mtu":
      return isIntIn(v, 68, 65535);
    case "stateDir":
      return isNonEmpty(v);
    case "owner":
      return typeof v === "string" && OWNER.test(v);
    case "beforeStep":
      return typeof v === "function";
    default:
      return false; // masquerade, taps, unknown keys: the schema's
  }
}

/** The options as the schema takes them, or undefined when the schema must look at them. */
export function plainSetupOptions(input: unknown): SetupOptionsParsed | undefined {
  if (typeof input !== "object" || input === null || Object.getPrototypeOf(input) !== Object.prototype)
    return undefined;
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = (input as Record<string, unknown>)[k];
    // An optional field given as undefined is what the schema keeps as undefined: so do we
    // (callers write `{ ..., beforeStep: maybe }`); netns and mode are checked below.
    if (v === undefined ? !OPTIONAL_KEYS.has(k) : !plainField(k, v)) return undefined;
    out[k] = v;
  }
  return out.netns === undefined || out.mode === undefined ? undefined : (out as SetupOptionsParsed);
}
