import { z } from "zod";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { u32 } from "../../validate.js";
import { defineKind } from "./kind.js";

/** Linux bridge settings. Times are in centiseconds, as `ip link` takes them. */
const schema = {
  ageingTime: u32.optional(),
  forwardDelay: u32.optional(),
  helloTime: u32.optional(),
  maxAge: u32.optional(),
  stp: z.boolean().optional(),
  priority: z.number().int().min(0, "must be 0-65535").max(65535, "must be 0-65535").optional(),
  vlanFiltering: z.boolean().optional(),
  vlanDefaultPvid: z.number().int().min(0, "must be 0-4094").max(4094, "must be 0-4094").optional(),
  multicastSnooping: z.boolean().optional(),
};
type BridgeData = z.output<z.ZodObject<typeof schema>>;

export interface BridgeInfo {
  forwardDelay?: number;
  helloTime?: number;
  maxAge?: number;
  ageingTime?: number;
  stp?: boolean;
  priority?: number;
  vlanFiltering?: boolean;
  vlanDefaultPvid?: number;
  multicastSnooping?: boolean;
}

export const bridgeKind = defineKind({
  kind: "bridge",
  schema,
  encode(w, s: BridgeData) {
    if (s.forwardDelay !== undefined) w.u32(C.IFLA_BR_FORWARD_DELAY, s.forwardDelay);
    if (s.helloTime !== undefined) w.u32(C.IFLA_BR_HELLO_TIME, s.helloTime);
    if (s.maxAge !== undefined) w.u32(C.IFLA_BR_MAX_AGE, s.maxAge);
    if (s.ageingTime !== undefined) w.u32(C.IFLA_BR_AGEING_TIME, s.ageingTime);
    if (s.stp !== undefined) w.u32(C.IFLA_BR_STP_STATE, s.stp ? 1 : 0);
    if (s.priority !== undefined) w.u16(C.IFLA_BR_PRIORITY, s.priority);
    if (s.vlanFiltering !== undefined) w.u8(C.IFLA_BR_VLAN_FILTERING, s.vlanFiltering ? 1 : 0);
    if (s.multicastSnooping !== undefined) w.u8(C.IFLA_BR_MCAST_SNOOPING, s.multicastSnooping ? 1 : 0);
    if (s.vlanDefaultPvid !== undefined) w.u16(C.IFLA_BR_VLAN_DEFAULT_PVID, s.vlanDefaultPvid);
  },
  decode(attrs: RawAttr[]): BridgeInfo {
    const out: BridgeInfo = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_BR_FORWARD_DELAY) out.forwardDelay = read.u32(a);
      if (a.type === C.IFLA_BR_HELLO_TIME) out.helloTime = read.u32(a);
      if (a.type === C.IFLA_BR_MAX_AGE) out.maxAge = read.u32(a);
      if (a.type === C.IFLA_BR_AGEING_TIME) out.ageingTime = read.u32(a);
      if (a.type === C.IFLA_BR_STP_STATE) out.stp = read.u32(a) !== 0;
      if (a.type === C.IFLA_BR_PRIORITY) out.priority = read.u16(a);
      if (a.type === C.IFLA_BR_VLAN_FILTERING) out.vlanFiltering = read.u8(a) !== 0;
      if (a.type === C.IFLA_BR_MCAST_SNOOPING) out.multicastSnooping = read.u8(a) !== 0;
      if (a.type === C.IFLA_BR_VLAN_DEFAULT_PVID) out.vlanDefaultPvid = read.u16(a);
    }
    return out;
  },
});
