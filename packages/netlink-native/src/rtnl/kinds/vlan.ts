import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { KindCodec } from "./kind.js";

const PROTOCOLS = { "802.1q": 0x8100, "802.1ad": 0x88a8 } as const;
export type VlanProtocol = keyof typeof PROTOCOLS;

/** 802.1Q/802.1ad sub-interface of `parent`. */
export interface VlanSpec {
  kind: "vlan";
  parent: number;
  id: number;
  protocol?: VlanProtocol;
}

export const vlanCodec: KindCodec<VlanSpec> = {
  kind: "vlan",
  encode(w: AttrWriter, s: VlanSpec) {
    if (s.protocol !== undefined) w.be16(C.IFLA_VLAN_PROTOCOL, PROTOCOLS[s.protocol]);
    w.u16(C.IFLA_VLAN_ID, s.id);
  },
  decode(attrs: RawAttr[]) {
    const out: Record<string, unknown> = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_VLAN_ID) out.id = read.u16(a);
      if (a.type === C.IFLA_VLAN_PROTOCOL) {
        const p = read.be16(a);
        out.protocol = p === 0x88a8 ? "802.1ad" : p === 0x8100 ? "802.1q" : p;
      }
    }
    return out;
  },
};
