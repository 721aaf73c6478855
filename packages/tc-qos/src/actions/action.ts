// Action lists as filters carry them (TCA_U32_ACT and friends) and as RTM_*ACTION messages carry
// them (TCA_ACT_TAB): one nest per action numbered from 1 (its order), holding TCA_ACT_KIND and
// TCA_ACT_OPTIONS. The kinds this package writes are plugins in the registry (registry.ts: mirred,
// vlan, sample, police); any kind is read back (unknown ones with their raw options).
import { type AttrWriter, parseAttrs, read } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import type { CodecContext } from "../kinds/kind.js";
import { systemPsched } from "../psched.js";
import type { ActionKind, ActionResolveContext } from "./kind.js";
import type { MirredInfo } from "./mirred.js";
import type { PoliceInfo } from "./police.js";
import { ACTION_KIND_REGISTRY, actionKind } from "./registry.js";
import type { SampleInfo } from "./sample.js";
import type { VlanInfo } from "./vlan.js";

type Registered = (typeof ACTION_KIND_REGISTRY)[number];
type SchemaOf<K> = K extends ActionKind<string, infer S, unknown> ? S : never;

/** Every registered kind's schema, told apart by `kind`. */
export const actionSchema = z.discriminatedUnion(
  "kind",
  ACTION_KIND_REGISTRY.map((k) => k.schema) as unknown as [SchemaOf<Registered>, ...SchemaOf<Registered>[]],
);
export type ActionSpec = z.input<typeof actionSchema>;
export type ActionParsed = z.output<typeof actionSchema>;

/** An action with its target link (mirred's dev) resolved to an ifindex (0 for kinds without one). */
export type ResolvedAction = ActionParsed & { ifindex: number };

/** An action as the kernel reports it; kinds this package does not know keep their raw options. */
export type ActionInfo =
  | MirredInfo
  | VlanInfo
  | SampleInfo
  | PoliceInfo
  | { kind: string; index?: number; options?: Buffer };

/** Resolves a parsed action's link names through its kind's plugin (0 for kinds without one). */
export async function resolveAction(a: ActionParsed, ctx: ActionResolveContext): Promise<ResolvedAction> {
  const kind = actionKind(a.kind);
  return { ...a, ifindex: kind?.resolve ? await kind.resolve(a as never, ctx) : 0 };
}

function encodeAction(w: AttrWriter, a: ResolvedAction, ctx: CodecContext): void {
  actionKind(a.kind)?.encode(w, a as never, a.ifindex, ctx);
}

function decodeAction(kind: string, options: Buffer, ctx: CodecContext): ActionInfo | undefined {
  return actionKind(kind)?.decode(options, ctx) as ActionInfo | undefined;
}

/** Writes one nest per action (1, 2, ...) with TCA_ACT_KIND and TCA_ACT_OPTIONS (nested flag set, as tc). */
export function writeActionList(
  w: AttrWriter,
  actions: readonly ResolvedAction[],
  ctx: CodecContext = { psched: systemPsched() },
): void {
  actions.forEach((a, i) => {
    w.begin(i + 1);
    w.string(C.TCA_ACT_KIND, a.kind);
    w.begin(C.TCA_ACT_OPTIONS, true);
    encodeAction(w, a, ctx);
    w.end();
    w.end();
  });
}

/** Reads a list of action nests (a filter's TCA_*_ACT or a TCA_ACT_TAB). */
export function readActionList(data: Buffer, ctx: CodecContext = { psched: systemPsched() }): ActionInfo[] {
  const out: { order: number; action: ActionInfo }[] = [];
  for (const nest of parseAttrs(data)) {
    let kind = "";
    let options: Buffer | undefined;
    let index: number | undefined;
    for (const a of parseAttrs(nest.data)) {
      if (a.type === C.TCA_ACT_KIND) kind = read.string(a);
      else if (a.type === C.TCA_ACT_OPTIONS) options = a.data;
      else if (a.type === C.TCA_ACT_INDEX && a.data.length >= 4) index = a.data.readUInt32LE(0);
    }
    let action: ActionInfo | undefined;
    if (options) action = decodeAction(kind, options, ctx);
    if (!action) {
      action = { kind };
      if (index !== undefined) action.index = index;
      if (options) action.options = options;
    }
    out.push({ order: nest.type, action });
  }
  return out.sort((a, b) => a.order - b.order).map((x) => x.action);
}
