import { z } from "zod";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { linkRef, vlanId } from "../../validate.js";
import { defineKind } from "./kind.js";

const PROTOCOLS = { "802.1q": 0x8100, "802.1ad": 0x88a8 } as const;
export type VlanProtocol = keyof typeof PROTOCOLS;

export interface VlanInfo {
  id?: number;
  protocol?: VlanProtocol | number;
}

/** 802.1Q/802.1ad sub-interface of `parent`. */
export const vlanKind = defineKind({
  kind: "vlan",
  schema: { parent: linkRef, id: vlanId, protocol: z.enum(["802.1q", "802.1ad"]).optional() },
  async resolve(s, ctx) {
    const data: { id: number; protocol?: VlanProtocol } = { id: s.id };
    if (s.protocol !== undefined) data.protocol = s.protocol;
    return { data, parent: await ctx.index(s.parent) };
  },
  encode(w, s: { id: number; protocol?: VlanProtocol }) {
    if (s.protocol !== undefined) w.be16(C.IFLA_VLAN_PROTOCOL, PROTOCOLS[s.protocol]);
    w.u16(C.IFLA_VLAN_ID, s.id);
  },
  decode(attrs: RawAttr[]): VlanInfo {
    const out: VlanInfo = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_VLAN_ID) out.id = read.u16(a);
      if (a.type === C.IFLA_VLAN_PROTOCOL) {
        const p = read.be16(a);
        out.protocol = p === 0x88a8 ? "802.1ad" : p === 0x8100 ? "802.1q" : p;
      }
    }
    return out;
  },
});
