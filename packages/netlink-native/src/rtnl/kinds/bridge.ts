import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { KindCodec } from "./kind.js";

/** Linux bridge settings. Times are in centiseconds, as `ip link` takes them. */
export interface BridgeSpec {
  kind: "bridge";
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

export const bridgeCodec: KindCodec<BridgeSpec> = {
  kind: "bridge",
  encode(w: AttrWriter, s: BridgeSpec) {
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
  decode(attrs: RawAttr[]) {
    const out: Record<string, unknown> = {};
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
};
