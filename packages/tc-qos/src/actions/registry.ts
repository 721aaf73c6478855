// The action kinds this package writes. Others are still read back generically (kind, index,
// raw options): the kernel is the source of truth, not this table.
import type { ActionKind } from "./kind.js";
import { mirred } from "./mirred.js";
import { police } from "./police.js";
import { sample } from "./sample.js";
import { vlan } from "./vlan.js";

/** The registry: adding an action kind is its file, a line here and its constants. */
export const ACTION_KIND_REGISTRY = [mirred, vlan, sample, police] as const;

const byName = new Map<string, ActionKind>(
  ACTION_KIND_REGISTRY.map((k) => [k.kind, k as unknown as ActionKind]),
);

export function actionKind(kind: string): ActionKind | undefined {
  return byName.get(kind);
}
