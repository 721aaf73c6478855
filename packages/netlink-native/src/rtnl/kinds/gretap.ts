import { bytesToIp, ipToBytes } from "../../codec/addresses.js";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { KindCodec } from "./kind.js";

const GRE_KEY = 0x2000;

/** Ethernet over GRE (IPv4 underlay). `key` sets both directions' keys. */
export interface GretapSpec {
  kind: "gretap";
  local?: string;
  remote: string;
  key?: number;
  ttl?: number;
  tos?: number;
  /** Path MTU discovery (iproute2's default: on). */
  pmtudisc?: boolean;
  device?: number;
}

export const gretapCodec: KindCodec<GretapSpec> = {
  kind: "gretap",
  // iproute2 states every tunnel parameter, defaults included; we send the same set.
  encode(w: AttrWriter, s: GretapSpec) {
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
  decode(attrs: RawAttr[]) {
    const out: Record<string, unknown> = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_GRE_LOCAL) out.local = bytesToIp(a.data);
      if (a.type === C.IFLA_GRE_REMOTE) out.remote = bytesToIp(a.data);
      if (a.type === C.IFLA_GRE_IKEY) out.key = read.be32(a);
      if (a.type === C.IFLA_GRE_TTL) out.ttl = read.u8(a);
      if (a.type === C.IFLA_GRE_TOS) out.tos = read.u8(a);
    }
    return out;
  },
};
