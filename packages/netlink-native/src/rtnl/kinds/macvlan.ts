import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { KindCodec } from "./kind.js";

export const MACVLAN_MODES = {
  private: C.MACVLAN_MODE_PRIVATE,
  vepa: C.MACVLAN_MODE_VEPA,
  bridge: C.MACVLAN_MODE_BRIDGE,
  passthru: C.MACVLAN_MODE_PASSTHRU,
  source: C.MACVLAN_MODE_SOURCE,
} as const;
export type MacvlanMode = keyof typeof MACVLAN_MODES;

/** macvlan and macvtap share their settings; the parent goes in IFLA_LINK. */
export interface MacvlanSpec {
  kind: "macvlan" | "macvtap";
  parent: number;
  mode?: MacvlanMode;
}

function codec(kind: "macvlan" | "macvtap"): KindCodec<MacvlanSpec> {
  return {
    kind,
    encode(w: AttrWriter, s: MacvlanSpec) {
      if (s.mode !== undefined) w.u32(C.IFLA_MACVLAN_MODE, MACVLAN_MODES[s.mode]);
    },
    decode(attrs: RawAttr[]) {
      const out: Record<string, unknown> = {};
      for (const a of attrs) {
        if (a.type === C.IFLA_MACVLAN_MODE) {
          const v = read.u32(a);
          out.mode = Object.entries(MACVLAN_MODES).find(([, n]) => n === v)?.[0] ?? v;
        }
      }
      return out;
    },
  };
}

export const macvlanCodec = codec("macvlan");
export const macvtapCodec = codec("macvtap");
