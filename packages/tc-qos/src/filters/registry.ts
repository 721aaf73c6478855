// The filter kinds this package writes. Others are still listed and decoded generically (kind,
// handle, parent, raw options): the kernel is the source of truth, not this table.
import type { FilterKind } from "./kind.js";
import { matchall } from "./matchall.js";
import { u32Filter } from "./u32.js";

/** The registry: adding a filter kind is its file, a line here and its constants. */
export const FILTER_KIND_REGISTRY = [u32Filter, matchall] as const;

export type FilterKindName = (typeof FILTER_KIND_REGISTRY)[number]["kind"];

const byName = new Map<string, FilterKind>(
  FILTER_KIND_REGISTRY.map((k) => [k.kind, k as unknown as FilterKind]),
);

export function filterKind(kind: string): FilterKind | undefined {
  return byName.get(kind);
}

/** The kinds this package writes, for error messages. */
export const FILTER_KIND_NAMES = FILTER_KIND_REGISTRY.map((k) => k.kind).join(", ");
