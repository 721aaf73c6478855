// Network configurations: the single plugin configuration a plugin reads on stdin, and the
// configuration list (.conflist) a runtime reads from disk. Plugin-specific keys are kept
// untouched, because the spec requires runtimes to pass them through unchanged.

import { z } from "zod";
import { dnsSchema } from "./common.js";

/** Network names: an alphanumeric first character, then alphanumerics, "_", "." or "-". */
const networkNameSchema = z.string().superRefine((name, ctx) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    ctx.addIssue({
      code: "custom",
      message: `not a network name: ${JSON.stringify(name)} (letters, digits, "_", "." and "-", starting with a letter or digit)`,
    });
  }
});

/** Spec versions are Semantic Versions; unknown future ones are allowed in a configuration. */
const specVersionSchema = z.string().superRefine((version, ctx) => {
  if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.test(version)) {
    ctx.addIssue({ code: "custom", message: `not a spec version: ${JSON.stringify(version)}` });
  }
});

/** Plugin and IPAM types name an executable, so they can hold no path separator. */
const pluginTypeSchema = z.string().superRefine((type, ctx) => {
  if (type === "") ctx.addIssue({ code: "custom", message: "must not be empty" });
  else if (/[/\\]/.test(type)) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(type)} contains a path separator` });
  }
});

const ipamSchema = z.looseObject({ type: pluginTypeSchema.optional() });

const pluginFields = {
  type: pluginTypeSchema,
  capabilities: z.record(z.string(), z.boolean()).optional(),
  ipam: ipamSchema.optional(),
  dns: dnsSchema.optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  runtimeConfig: z.record(z.string(), z.unknown()).optional(),
  ipMasq: z.boolean().optional(),
  prevResult: z.unknown().optional(),
};

/** A plugin configuration as a plugin receives it on stdin. */
export const networkConfigSchema = z.looseObject({
  cniVersion: specVersionSchema,
  name: networkNameSchema,
  ...pluginFields,
});

/** A plugin entry of a configuration list; it inherits `cniVersion` and `name` from the list. */
export const pluginConfigSchema = z.looseObject({
  cniVersion: specVersionSchema.optional(),
  name: networkNameSchema.optional(),
  ...pluginFields,
});

export const networkConfigListSchema = z.looseObject({
  cniVersion: specVersionSchema,
  /** Added in 1.1.0: every version the list supports, so a runtime can pick the highest it knows. */
  cniVersions: z.array(specVersionSchema).optional(),
  name: networkNameSchema,
  // The 0.4.0 spec calls it a string "true"/"false"; later specs a boolean. Both occur in the wild.
  disableCheck: z
    .custom<boolean | "true" | "false">((v) => typeof v === "boolean" || v === "true" || v === "false", {
      message: "must be true or false",
    })
    .optional(),
  disableGC: z.boolean().optional(),
  plugins: z.array(pluginConfigSchema).min(1),
});
