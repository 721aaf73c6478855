// Action lists as filters carry them (TCA_U32_ACT and friends) and as RTM_*ACTION messages carry
// them (TCA_ACT_TAB): one nest per action numbered from 1 (its order), holding TCA_ACT_KIND and
// TCA_ACT_OPTIONS. The kinds this package writes are registered below (mirred, vlan, sample,
// police); any kind is read back (unknown ones with their raw options).
import { type AttrWriter, parseAttrs, read } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import type { CodecContext } from "../kinds/kind.js";
import { systemPsched } from "../psched.js";
import { decodeMirred, encodeMirred, type MirredInfo, mirredSchema } from "./mirred.js";
import { decodePolice, encodePolice, type PoliceInfo, policeSchema } from "./police.js";
import { decodeSample, encodeSample, type SampleInfo, sampleSchema } from "./sample.js";
import { decodeVlan, encodeVlan, type VlanInfo, vlanSchema } from "./vlan.js";

export const actionSchema = z.discriminatedUnion("kind", [
  mirredSchema,
  vlanSchema,
  sampleSchema,
  policeSchema,
]);
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

function encodeAction(w: AttrWriter, a: ResolvedAction, ctx: CodecContext): void {
  switch (a.kind) {
    case "mirred":
      encodeMirred(w, a, a.ifindex);
      return;
    case "vlan":
      encodeVlan(w, a);
      return;
    case "sample":
      encodeSample(w, a);
      return;
    case "police":
      encodePolice(w, a, ctx);
      return;
  }
}

function decodeAction(kind: string, options: Buffer, ctx: CodecContext): ActionInfo | undefined {
  if (kind === "mirred") return decodeMirred(options);
  if (kind === "vlan") return decodeVlan(options);
  if (kind === "sample") return decodeSample(options);
  if (kind === "police") return decodePolice(options, ctx);
  return undefined;
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
