import { z } from "zod";
import { bytesToIp, ipToBytes } from "../../codec/addresses.js";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { ipv4, linkRef, u8, u32 } from "../../validate.js";
import { defineKind } from "./kind.js";

const GRE_KEY = 0x2000;

const schema = {
  remote: ipv4,
  local: ipv4.optional(),
  /** Sets both directions' keys. */
  key: u32.optional(),
  ttl: u8.optional(),
  tos: u8.optional(),
  /** Path MTU discovery (iproute2's default: on). */
  pmtudisc: z.boolean().optional(),
  device: linkRef.optional(),
};
type GretapData = Omit<z.output<z.ZodObject<typeof schema>>, "device"> & { device?: number };

export interface GretapInfo {
  local?: string;
  remote?: string;
  key?: number;
  ttl?: number;
  tos?: number;
}

/** Ethernet over GRE (IPv4 underlay). */
export const gretapKind = defineKind({
  kind: "gretap",
  schema,
  async resolve(s, ctx) {
    const { device, ...rest } = s;
    const data: GretapData = device === undefined ? rest : { ...rest, device: await ctx.index(device) };
    return { data };
  },
  // iproute2 states every tunnel parameter, defaults included; we send the same set.
  encode(w, s: GretapData) {
    const key = s.key ?? 0;
    const flags = s.key === undefined ? 0 : GRE_KEY;
    w.be32(C.IFLA_GRE_IKEY, key);
    w.be32(C.IFLA_GRE_OKEY, key);
    w.be16(C.IFLA_GRE_IFLAGS, flags);
    w.be16(C.IFLA_GRE_OFLAGS, flags);
    w.attr(C.IFLA_GRE_LOCAL, ipToBytes(s.local ?? "0.0.0.0"));
    w.attr(C.IFLA_GRE_REMOTE, ipToBytes(s.remote));
    w.u8(C.IFLA_GRE_PMTUDISC, s.pmtudisc === false ? 0 : 1);
    w.u8(C.IFLA_GRE_TOS, s.tos ?? 0);
    w.u8(C.IFLA_GRE_TTL, s.ttl ?? 0);
    if (s.device !== undefined) w.u32(C.IFLA_GRE_LINK, s.device);
    w.u32(C.IFLA_GRE_FWMARK, 0);
    w.u16(C.IFLA_GRE_ENCAP_TYPE, 0);
    w.u16(C.IFLA_GRE_ENCAP_FLAGS, 0);
    w.be16(C.IFLA_GRE_ENCAP_SPORT, 0);
    w.be16(C.IFLA_GRE_ENCAP_DPORT, 0);
  },
  decode(attrs: RawAttr[]): GretapInfo {
    const out: GretapInfo = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_GRE_LOCAL) out.local = bytesToIp(a.data);
      if (a.type === C.IFLA_GRE_REMOTE) out.remote = bytesToIp(a.data);
      if (a.type === C.IFLA_GRE_IKEY) out.key = read.be32(a);
      if (a.type === C.IFLA_GRE_TTL) out.ttl = read.u8(a);
      if (a.type === C.IFLA_GRE_TOS) out.tos = read.u8(a);
    }
    return out;
  },
});
