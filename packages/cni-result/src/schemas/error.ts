// The error result a failing plugin prints on stdout (all versions share it).

import { z } from "zod";
import type { CniErrorResult } from "../types.js";

export const errorResultSchema: z.ZodType<CniErrorResult> = z.object({
  cniVersion: z.string().optional(),
  code: z.number().int().min(0),
  msg: z.string(),
  details: z.string().optional(),
});

/** The spec's well-known error codes (0-99 are reserved for these; 100+ are plugin-specific). */
export const WELL_KNOWN_ERROR_CODES: Readonly<Record<number, string>> = Object.freeze({
  1: "Incompatible CNI version",
  2: "Unsupported field in network configuration",
  3: "Container unknown or does not exist",
  4: "Invalid necessary environment variables",
  5: "I/O failure",
  6: "Failed to decode content",
  7: "Invalid network config",
  11: "Try again later",
  50: "The plugin is not available",
  51: "The plugin is not available, and existing containers in the network may have limited connectivity",
});
