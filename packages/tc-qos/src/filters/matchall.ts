// matchall: a classifier that matches every packet: a class and/or actions for all traffic
// under its parent (what u32's zero-mask key does, in a kind of its own). TCA_OPTIONS holds
// TCA_MATCHALL_CLASSID, TCA_MATCHALL_ACT and TCA_MATCHALL_FLAGS, in that order.
import { type AttrWriter, parseAttrs, read } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import {
  type ActionInfo,
  actionSchema,
  type ResolvedAction,
  readActionList,
  writeActionList,
} from "../actions/action.js";
import * as C from "../constants.js";
import { formatHandle, type Handle, parseHandle } from "../handle.js";
import type { CodecContext } from "../kinds/kind.js";
import { defineFilterKind } from "./kind.js";

export const matchallSchema = z
  .object({
    kind: z.literal("matchall"),
    /** Class for every packet ("1:10"). */
    classid: z.union([z.string(), z.number()]).optional(),
    actions: z
      .array(actionSchema)
      .max(C.TCA_ACT_MAX_PRIO, `at most ${C.TCA_ACT_MAX_PRIO} actions`)
      .optional(),
    skipHw: z.boolean().optional(),
    skipSw: z.boolean().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.classid === undefined && !o.actions?.length)
      ctx.addIssue({ code: "custom", path: ["actions"], message: 'give "classid" or at least one action' });
    if (o.skipHw && o.skipSw)
      ctx.addIssue({ code: "custom", path: ["skipSw"], message: '"skipHw" and "skipSw" exclude each other' });
  });

export type MatchallFilter = z.input<typeof matchallSchema>;
export type MatchallParsed = z.output<typeof matchallSchema>;

export interface MatchallInfo {
  kind: "matchall";
  classid?: string;
  actions: ActionInfo[];
  flags?: number;
}

export function encodeMatchall(
  w: AttrWriter,
  o: MatchallParsed,
  actions: readonly ResolvedAction[],
  ctx: CodecContext,
): void {
  w.begin(C.TCA_OPTIONS);
  if (o.classid !== undefined)
    w.u32(C.TCA_MATCHALL_CLASSID, parseHandle(o.classid as Handle, "filter.classid"));
  if (actions.length > 0) {
    w.begin(C.TCA_MATCHALL_ACT);
    writeActionList(w, actions, ctx);
    w.end();
  }
  const flags = (o.skipHw ? C.TCA_CLS_FLAGS_SKIP_HW : 0) | (o.skipSw ? C.TCA_CLS_FLAGS_SKIP_SW : 0);
  if (flags) w.u32(C.TCA_MATCHALL_FLAGS, flags);
  w.end();
}

export function decodeMatchall(options: Buffer | undefined, ctx: CodecContext): MatchallInfo {
  const info: MatchallInfo = { kind: "matchall", actions: [] };
  if (!options) return info;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_MATCHALL_CLASSID) info.classid = formatHandle(read.u32(a));
    else if (a.type === C.TCA_MATCHALL_ACT) info.actions = readActionList(a.data, ctx);
    else if (a.type === C.TCA_MATCHALL_FLAGS) info.flags = read.u32(a);
  }
  return info;
}

/** The plugin (see kind.ts). */
export const matchall = defineFilterKind({
  kind: "matchall",
  schema: matchallSchema,
  encode: (w, o, actions, ctx) => encodeMatchall(w, o, actions, ctx),
  decode: (options, ctx) => decodeMatchall(options, ctx),
});
