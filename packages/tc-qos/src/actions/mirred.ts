// mirred: mirror or redirect a packet to another link's egress (transmit) or ingress (receive)
// path. Redirect steals the packet (TC_ACT_STOLEN), mirror passes a copy on (TC_ACT_PIPE), as tc
// does unless another control verdict is given.
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import { parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { linkRef, u32 } from "../validate.js";
import { defineActionKind } from "./kind.js";

export const CONTROLS = {
  continue: C.TC_ACT_UNSPEC,
  pass: C.TC_ACT_OK,
  ok: C.TC_ACT_OK,
  reclassify: C.TC_ACT_RECLASSIFY,
  drop: C.TC_ACT_SHOT,
  shot: C.TC_ACT_SHOT,
  pipe: C.TC_ACT_PIPE,
  stolen: C.TC_ACT_STOLEN,
} as const;
export type ActionControl = keyof typeof CONTROLS;

export const mirredSchema = z
  .object({
    kind: z.literal("mirred"),
    /** Which path of `dev` the packet enters: "egress" (sent out of it) or "ingress" (received by it). */
    direction: z.enum(["egress", "ingress"]).default("egress"),
    action: z.enum(["redirect", "mirror"]),
    /** Target link, by name or ifindex. */
    dev: linkRef,
    /** Action index (shared actions); the kernel picks one when absent. */
    index: u32.optional(),
    /** Verdict after the action (default: "stolen" for redirect, "pipe" for mirror). */
    control: z.enum(Object.keys(CONTROLS) as [ActionControl, ...ActionControl[]]).optional(),
  })
  .strict();

export type MirredAction = z.input<typeof mirredSchema>;
export type MirredParsed = z.output<typeof mirredSchema>;

export interface MirredInfo {
  kind: "mirred";
  direction: "egress" | "ingress";
  action: "redirect" | "mirror";
  /** Target ifindex. */
  ifindex: number;
  index: number;
  /** Raw TC_ACT_* verdict. */
  control: number;
}

function eaction(direction: "egress" | "ingress", action: "redirect" | "mirror"): number {
  if (direction === "egress") return action === "redirect" ? C.TCA_EGRESS_REDIR : C.TCA_EGRESS_MIRROR;
  return action === "redirect" ? C.TCA_INGRESS_REDIR : C.TCA_INGRESS_MIRROR;
}

/** Writes the action's TCA_ACT_OPTIONS contents; `ifindex` is the resolved target. */
export function encodeMirred(w: AttrWriter, a: MirredParsed, ifindex: number): void {
  const p = Buffer.alloc(C.SIZEOF_TC_MIRRED);
  const control = a.control ?? (a.action === "redirect" ? "stolen" : "pipe");
  p.writeUInt32LE(a.index ?? 0, 0);
  p.writeInt32LE(CONTROLS[control], 8);
  p.writeInt32LE(eaction(a.direction, a.action), 20);
  p.writeUInt32LE(ifindex, 24);
  w.attr(C.TCA_MIRRED_PARMS, p);
}

export function decodeMirred(options: Buffer): MirredInfo | undefined {
  for (const a of parseAttrs(options)) {
    if (a.type !== C.TCA_MIRRED_PARMS || a.data.length < C.SIZEOF_TC_MIRRED) continue;
    const e = a.data.readInt32LE(20);
    return {
      kind: "mirred",
      direction: e === C.TCA_INGRESS_REDIR || e === C.TCA_INGRESS_MIRROR ? "ingress" : "egress",
      action: e === C.TCA_EGRESS_REDIR || e === C.TCA_INGRESS_REDIR ? "redirect" : "mirror",
      ifindex: a.data.readUInt32LE(24),
      index: a.data.readUInt32LE(0),
      control: a.data.readInt32LE(8),
    };
  }
  return undefined;
}

/** The plugin (see kind.ts). */
export const mirred = defineActionKind({
  kind: "mirred",
  schema: mirredSchema,
  resolve: (a, ctx) => ctx.ifindex(a.dev),
  encode: (w, a, ifindex) => encodeMirred(w, a, ifindex),
  decode: (options) => decodeMirred(options),
});
