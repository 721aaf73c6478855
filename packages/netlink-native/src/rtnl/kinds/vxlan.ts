import { isIPv4 } from "node:net";
import { bytesToIp, ipToBytes } from "../../codec/addresses.js";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { KindCodec } from "./kind.js";

export interface VxlanSpec {
  kind: "vxlan";
  vni: number;
  /** Unicast remote endpoint. */
  remote?: string;
  /** Multicast group (exclusive with remote). */
  multicastGroup?: string;
  local?: string;
  /** Underlay device (name or index in the public API; index here). */
  device?: number;
  /** UDP destination port (IANA: 4789; the kernel's default is the legacy 8472). */
  port?: number;
  learning?: boolean;
  ttl?: number;
  tos?: number;
}

export const vxlanCodec: KindCodec<VxlanSpec> = {
  kind: "vxlan",
  encode(w: AttrWriter, s: VxlanSpec) {
    if (s.device !== undefined) w.u32(C.IFLA_VXLAN_LINK, s.device);
    w.u32(C.IFLA_VXLAN_ID, s.vni);
    const peer = s.multicastGroup ?? s.remote;
    if (peer !== undefined) w.attr(isIPv4(peer) ? C.IFLA_VXLAN_GROUP : C.IFLA_VXLAN_GROUP6, ipToBytes(peer));
    if (s.local !== undefined)
      w.attr(isIPv4(s.local) ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, ipToBytes(s.local));
    if (s.ttl !== undefined) w.u8(C.IFLA_VXLAN_TTL, s.ttl);
    if (s.tos !== undefined) w.u8(C.IFLA_VXLAN_TOS, s.tos);
    // iproute2 always states learning (on unless `nolearning`).
    w.u8(C.IFLA_VXLAN_LEARNING, s.learning === false ? 0 : 1);
    if (s.port !== undefined) w.be16(C.IFLA_VXLAN_PORT, s.port);
  },
  decode(attrs: RawAttr[]) {
    const out: Record<string, unknown> = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_VXLAN_ID) out.vni = read.u32(a);
      if (a.type === C.IFLA_VXLAN_GROUP || a.type === C.IFLA_VXLAN_GROUP6) out.group = bytesToIp(a.data);
      if (a.type === C.IFLA_VXLAN_LOCAL || a.type === C.IFLA_VXLAN_LOCAL6) out.local = bytesToIp(a.data);
      if (a.type === C.IFLA_VXLAN_LINK) out.device = read.u32(a);
      if (a.type === C.IFLA_VXLAN_PORT) out.port = read.be16(a);
      if (a.type === C.IFLA_VXLAN_LEARNING) out.learning = read.u8(a) !== 0;
      if (a.type === C.IFLA_VXLAN_TTL) out.ttl = read.u8(a);
      if (a.type === C.IFLA_VXLAN_TOS) out.tos = read.u8(a);
    }
    return out;
  },
};
