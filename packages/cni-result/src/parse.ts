// Reading CNI documents: results, error results and network configurations. Every function
// takes JSON text, bytes (a plugin's stdout) or an already-parsed value, and either returns a
// typed copy or throws one CniResultError naming the first bad field.

import type { z } from "zod";
import { CniResultError, errorFromIssues } from "./errors.js";
import { quote } from "./ip.js";
import { plainResultV1 } from "./plain-result.js";
import { errorResultSchema } from "./schemas/error.js";
import { networkConfigListSchema, networkConfigSchema } from "./schemas/netconf.js";
import { result020Schema } from "./schemas/v020.js";
import { result040Schema } from "./schemas/v040.js";
import { resultV1Schema } from "./schemas/v100.js";
import type { CniErrorResult, CniResult, NetworkConfig, NetworkConfigList, PluginConfig } from "./types.js";
import {
  CNI_VERSIONS,
  type CniVersion,
  isCniVersion,
  isLegacyVersion,
  isV1Version,
  isV04xVersion,
} from "./versions.js";

export interface ParseOptions {
  /**
   * The version to read a document as when it has no `cniVersion` of its own. A `prevResult`
   * or an IPAM plugin's result may leave it out; libcni then uses the configuration's version.
   */
  cniVersion?: CniVersion;
}

/** The zod schema of the result shape `version` uses. */
export function resultSchemaFor(version: CniVersion): z.ZodType<CniResult> {
  if (isLegacyVersion(version)) return result020Schema;
  if (isV04xVersion(version)) return result040Schema;
  return resultV1Schema;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return quote(value);
  return typeof value === "object" ? "an object" : String(value);
}

/** Turns text or bytes into a value; anything else is taken as already parsed. */
function readDocument(input: unknown): unknown {
  let text: string;
  if (typeof input === "string") text = input;
  else if (input instanceof Uint8Array) text = new TextDecoder().decode(input);
  else return input;
  if (text.trim() === "") throw new CniResultError("", "not valid JSON: the document is empty");
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new CniResultError("", `not valid JSON: ${detail}`, { cause: error });
  }
}

function readObject(input: unknown): Record<string, unknown> {
  const doc = readDocument(input);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new CniResultError("", `expected a JSON object, got ${describe(doc)}`);
  }
  return doc as Record<string, unknown>;
}

function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw errorFromIssues(parsed.error.issues);
  return parsed.data;
}

/** Picks the version a result document is read as (see ParseOptions.cniVersion). */
function versionOf(doc: Record<string, unknown>, options: ParseOptions): CniVersion {
  const declared = doc.cniVersion;
  if (declared === undefined || declared === "") {
    if (options.cniVersion === undefined) {
      throw new CniResultError("cniVersion", "missing (pass { cniVersion } to read a result that has none)");
    }
    if (!isCniVersion(options.cniVersion)) {
      throw new CniResultError("cniVersion", `unsupported version ${quote(String(options.cniVersion))}`);
    }
    return options.cniVersion;
  }
  if (typeof declared !== "string") {
    throw new CniResultError("cniVersion", `expected a string, got ${describe(declared)}`);
  }
  if (!isCniVersion(declared)) {
    throw new CniResultError(
      "cniVersion",
      `unsupported version ${quote(declared)} (supported: ${CNI_VERSIONS.join(", ")})`,
    );
  }
  return declared;
}

/**
 * Validates a CNI result of any supported version and returns a typed copy. Keys the spec does
 * not define are dropped, as libcni drops them.
 */
export function parseResult(input: unknown, options: ParseOptions = {}): CniResult {
  const doc = readObject(input);
  const version = versionOf(doc, options);
  // A current result of the usual shape skips the schema (plain-result.ts); the rest, and every
  // error, go through it.
  return (
    (isV1Version(version) ? plainResultV1(doc, version) : undefined) ??
    validate(resultSchemaFor(version), { ...doc, cniVersion: version })
  );
}

/** Validates the error result a failing plugin prints (`{code, msg, details}`). */
export function parseErrorResult(input: unknown): CniErrorResult {
  return validate(errorResultSchema, readObject(input));
}

/** True when a parsed document looks like an error result rather than a success result. */
export function isErrorResult(doc: unknown): doc is CniErrorResult {
  if (typeof doc !== "object" || doc === null) return false;
  const { code, msg } = doc as Record<string, unknown>;
  return typeof code === "number" && typeof msg === "string";
}

/** Parses a `prevResult` with the version of the configuration that carries it. */
function parsePrevResult(prevResult: unknown, cniVersion: string | undefined, path: string): CniResult {
  try {
    return parseResult(prevResult, isCniVersion(cniVersion) ? { cniVersion } : {});
  } catch (error) {
    throw error instanceof CniResultError ? error.within(path) : error;
  }
}

/** Validates a plugin configuration as a plugin reads it on stdin; `prevResult` is parsed too. */
export function parseNetworkConfig(input: unknown): NetworkConfig {
  const config = validate(networkConfigSchema, readObject(input)) as NetworkConfig;
  if (config.prevResult !== undefined) {
    config.prevResult = parsePrevResult(config.prevResult, config.cniVersion, "prevResult");
  }
  return config;
}

/** Validates a network configuration list (.conflist). */
export function parseNetworkConfigList(input: unknown): NetworkConfigList {
  const list = validate(networkConfigListSchema, readObject(input)) as NetworkConfigList;
  list.plugins = list.plugins.map((plugin: PluginConfig, i) =>
    plugin.prevResult === undefined
      ? plugin
      : {
          ...plugin,
          prevResult: parsePrevResult(plugin.prevResult, list.cniVersion, `plugins[${i}].prevResult`),
        },
  );
  return list;
}

/** JSON text of a result (or any document this package returns); `indent` as in JSON.stringify. */
export function serializeResult(result: CniResult | CniErrorResult, indent?: number): string {
  return JSON.stringify(result, null, indent);
}
