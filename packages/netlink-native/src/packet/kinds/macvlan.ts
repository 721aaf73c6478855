import { z } from "zod";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { linkRef } from "../../validate.js";
import { defineKind } from "./kind.js";

export const MACVLAN_MODES = {
  private: C.MACVLAN_MODE_PRIVATE,
  vepa: C.MACVLAN_MODE_VEPA,
  bridge: C.MACVLAN_MODE_BRIDGE,
  passthru: C.MACVLAN_MODE_PASSTHRU,
  source: C.MACVLAN_MODE_SOURCE,
} as const;
export type MacvlanMode = keyof typeof MACVLAN_MODES;

const schema = {
  /** The lower device (IFLA_LINK). */
  parent: linkRef,
  mode: z.enum(["private", "vepa", "bridge", "passthru", "source"]).optional(),
};

export interface MacvlanInfo {
  mode?: MacvlanMode | number;
}

// macvlan and macvtap share their settings.
function macvlanLike<K extends "macvlan" | "macvtap">(kind: K) {
  return defineKind({
    kind,
    schema,
    async resolve(s, ctx) {
      const data: { mode?: MacvlanMode } = s.mode === undefined ? {} : { mode: s.mode };
      return { data, parent: await ctx.index(s.parent) };
    },
    encode(w, s: { mode?: MacvlanMode }) {
      if (s.mode !== undefined) w.u32(C.IFLA_MACVLAN_MODE, MACVLAN_MODES[s.mode]);
    },
    decode(attrs: RawAttr[]): MacvlanInfo {
      const out: MacvlanInfo = {};
      for (const a of attrs) {
        if (a.type === C.IFLA_MACVLAN_MODE) {
          const v = read.u32(a);
          out.mode = (Object.entries(MACVLAN_MODES).find(([, n]) => n === v)?.[0] as MacvlanMode) ?? v;
        }
      }
      return out;
    },
  });
}

export const macvlanKind = macvlanLike("macvlan");
export const macvtapKind = macvlanLike("macvtap");
