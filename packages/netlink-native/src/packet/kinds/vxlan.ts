import { isIPv4 } from "node:net";
import { z } from "zod";
import { bytesToIp, ipToBytes } from "../../codec/addresses.js";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { ip, linkRef, u8 } from "../../validate.js";
import { defineKind } from "./kind.js";

const schema = {
  vni: z.number().int("must be an integer").min(0, "must be 0-16777215").max(0xffffff, "must be 0-16777215"),
  /** Unicast remote endpoint. */
  remote: ip.optional(),
  /** Multicast group for BUM traffic (exclusive with remote). */
  multicastGroup: ip.optional(),
  local: ip.optional(),
  /** Underlay device. */
  device: linkRef.optional(),
  /** UDP destination port (IANA: 4789; the kernel's default is the legacy 8472). */
  port: z.number().int().min(1, "must be 1-65535").max(65535, "must be 1-65535").optional(),
  learning: z.boolean().optional(),
  ttl: u8.optional(),
  tos: u8.optional(),
};
type VxlanSpec = z.output<z.ZodObject<typeof schema>>;
type VxlanData = Omit<VxlanSpec, "device"> & { device?: number };

export interface VxlanInfo {
  vni?: number;
  remote?: string;
  multicastGroup?: string;
  local?: string;
  device?: number;
  port?: number;
  learning?: boolean;
  ttl?: number;
  tos?: number;
}

const isMulticast = (a: string) =>
  isIPv4(a)
    ? Number(a.split(".")[0]) >= 224 && Number(a.split(".")[0]) <= 239
    : a.toLowerCase().startsWith("ff");

export const vxlanKind = defineKind({
  kind: "vxlan",
  schema,
  check: (s) =>
    s.remote !== undefined && s.multicastGroup !== undefined
      ? ["remote and multicastGroup exclude each other", "multicastGroup"]
      : undefined,
  async resolve(s, ctx) {
    const { device, ...rest } = s;
    const data: VxlanData = device === undefined ? rest : { ...rest, device: await ctx.index(device) };
    return { data };
  },
  encode(w, s: VxlanData) {
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
  decode(attrs: RawAttr[]): VxlanInfo {
    const out: VxlanInfo = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_VXLAN_ID) out.vni = read.u32(a);
      if (a.type === C.IFLA_VXLAN_GROUP || a.type === C.IFLA_VXLAN_GROUP6) {
        const addr = bytesToIp(a.data);
        if (isMulticast(addr)) out.multicastGroup = addr;
        else out.remote = addr;
      }
      if (a.type === C.IFLA_VXLAN_LOCAL || a.type === C.IFLA_VXLAN_LOCAL6) out.local = bytesToIp(a.data);
      if (a.type === C.IFLA_VXLAN_LINK) out.device = read.u32(a);
      if (a.type === C.IFLA_VXLAN_PORT) out.port = read.be16(a);
      if (a.type === C.IFLA_VXLAN_LEARNING) out.learning = read.u8(a) !== 0;
      if (a.type === C.IFLA_VXLAN_TTL) out.ttl = read.u8(a);
      if (a.type === C.IFLA_VXLAN_TOS) out.tos = read.u8(a);
    }
    return out;
  },
});
