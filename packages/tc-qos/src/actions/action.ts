// Action lists as filters carry them (TCA_U32_ACT and friends) and as RTM_*ACTION messages carry
// them (TCA_ACT_TAB): one nest per action numbered from 1 (its order), holding TCA_ACT_KIND and
// TCA_ACT_OPTIONS. mirred is the kind this package writes; any kind is read back.
import { type AttrWriter, parseAttrs, read } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { decodeMirred, encodeMirred, type MirredInfo, type MirredParsed, mirredSchema } from "./mirred.js";

export const actionSchema = z.discriminatedUnion("kind", [mirredSchema]);
export type ActionSpec = z.input<typeof actionSchema>;
export type ActionParsed = z.output<typeof actionSchema>;

/** An action with its target links resolved to ifindexes. */
export type ResolvedAction = MirredParsed & { ifindex: number };

/** An action as the kernel reports it; kinds this package does not know keep their raw options. */
export type ActionInfo = MirredInfo | { kind: string; index?: number; options?: Buffer };

/** Writes one nest per action (1, 2, ...) with TCA_ACT_KIND and TCA_ACT_OPTIONS (nested flag set, as tc). */
export function writeActionList(w: AttrWriter, actions: readonly ResolvedAction[]): void {
  actions.forEach((a, i) => {
    w.begin(i + 1);
    w.string(C.TCA_ACT_KIND, a.kind);
    w.begin(C.TCA_ACT_OPTIONS, true);
    encodeMirred(w, a, a.ifindex);
    w.end();
    w.end();
  });
}

/** Reads a list of action nests (a filter's TCA_*_ACT or a TCA_ACT_TAB). */
export function readActionList(data: Buffer): ActionInfo[] {
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
    if (kind === "mirred" && options) action = decodeMirred(options);
    if (!action) {
      action = { kind };
      if (index !== undefined) action.index = index;
      if (options) action.options = options;
    }
    out.push({ order: nest.type, action });
  }
  return out.sort((a, b) => a.order - b.order).map((x) => x.action);
}
