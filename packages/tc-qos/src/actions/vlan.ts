// vlan: pop the outer VLAN tag, push one (id, protocol 802.1Q/802.1ad, priority), or modify it.
// TCA_ACT_OPTIONS holds TCA_VLAN_PARMS (struct tc_vlan) and the push attributes; the protocol
// goes in network byte order, as tc writes it.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { u32 } from "../validate.js";
import { defineActionKind } from "./kind.js";
import { type ActionControl, CONTROLS } from "./mirred.js";

const VLAN_ACTIONS = {
  pop: C.TCA_VLAN_ACT_POP,
  push: C.TCA_VLAN_ACT_PUSH,
  modify: C.TCA_VLAN_ACT_MODIFY,
} as const;
const PROTOCOLS = { "802.1q": C.ETH_P_8021Q, "802.1ad": C.ETH_P_8021AD } as const;

export const vlanSchema = z
  .object({
    kind: z.literal("vlan"),
    action: z.enum(["pop", "push", "modify"]),
    /** VLAN id (push, modify). */
    id: z.number().int().min(0).max(4095).optional(),
    protocol: z.enum(["802.1q", "802.1ad"]).optional(),
    priority: z.number().int().min(0).max(7).optional(),
    index: u32.optional(),
    /** Verdict after the action (default "pipe"). */
    control: z.enum(Object.keys(CONTROLS) as [ActionControl, ...ActionControl[]]).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.action !== "pop" && o.id === undefined)
      ctx.addIssue({ code: "custom", path: ["id"], message: `is required to ${o.action} a tag` });
    if (o.action === "pop")
      for (const f of ["id", "protocol", "priority"] as const)
        if (o[f] !== undefined) ctx.addIssue({ code: "custom", path: [f], message: "is not taken by pop" });
  });

export type VlanAction = z.input<typeof vlanSchema>;
export type VlanParsed = z.output<typeof vlanSchema>;

export interface VlanInfo {
  kind: "vlan";
  action: "pop" | "push" | "modify";
  id?: number;
  protocol?: number;
  priority?: number;
  index: number;
  control: number;
}

export function encodeVlan(w: AttrWriter, a: VlanParsed): void {
  const p = Buffer.alloc(C.SIZEOF_TC_VLAN);
  p.writeUInt32LE(a.index ?? 0, 0);
  p.writeInt32LE(CONTROLS[a.control ?? "pipe"], 8);
  p.writeInt32LE(VLAN_ACTIONS[a.action], 20);
  w.attr(C.TCA_VLAN_PARMS, p);
  if (a.id !== undefined) w.u16(C.TCA_VLAN_PUSH_VLAN_ID, a.id);
  if (a.protocol !== undefined) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(PROTOCOLS[a.protocol], 0);
    w.attr(C.TCA_VLAN_PUSH_VLAN_PROTOCOL, b);
  }
  if (a.priority !== undefined) w.u8(C.TCA_VLAN_PUSH_VLAN_PRIORITY, a.priority);
}

export function decodeVlan(options: Buffer): VlanInfo | undefined {
  let info: VlanInfo | undefined;
  const extra: Partial<VlanInfo> = {};
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_VLAN_PARMS && a.data.length >= C.SIZEOF_TC_VLAN) {
      const v = a.data.readInt32LE(20);
      info = {
        kind: "vlan",
        action: v === C.TCA_VLAN_ACT_POP ? "pop" : v === C.TCA_VLAN_ACT_PUSH ? "push" : "modify",
        index: a.data.readUInt32LE(0),
        control: a.data.readInt32LE(8),
      };
    } else if (a.type === C.TCA_VLAN_PUSH_VLAN_ID && a.data.length >= 2) extra.id = a.data.readUInt16LE(0);
    else if (a.type === C.TCA_VLAN_PUSH_VLAN_PROTOCOL && a.data.length >= 2)
      extra.protocol = a.data.readUInt16BE(0);
    else if (a.type === C.TCA_VLAN_PUSH_VLAN_PRIORITY && a.data.length >= 1)
      extra.priority = a.data.readUInt8(0);
  }
  return info ? { ...info, ...extra } : undefined;
}

/** The plugin (see kind.ts). */
export const vlan = defineActionKind({
  kind: "vlan",
  schema: vlanSchema,
  encode: (w, a) => encodeVlan(w, a),
  decode: (options) => decodeVlan(options),
});
