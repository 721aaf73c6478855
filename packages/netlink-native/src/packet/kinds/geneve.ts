import { isIPv4 } from "node:net";
import { z } from "zod";
import { bytesToIp, ipToBytes } from "../../codec/addresses.js";
import { type RawAttr, read } from "../../codec/attrs.js";
import * as C from "../../codec/constants.js";
import { ip, u8 } from "../../validate.js";
import { defineKind } from "./kind.js";

const schema = {
  /** The 24-bit virtual network identifier. */
  vni: z.number().int("must be an integer").min(0, "must be 0-16777215").max(0xffffff, "must be 0-16777215"),
  /** The remote tunnel endpoint (IPv4 or IPv6). */
  remote: ip,
  /** UDP destination port (default 6081, the IANA port, which iproute2 always states). */
  port: z.number().int().min(1, "must be 1-65535").max(65535, "must be 1-65535").optional(),
  ttl: u8.optional(),
  tos: u8.optional(),
  /** IPv6 flow label of the outer header (20 bits). */
  label: z.number().int().min(0, "must be 0-1048575").max(0xfffff, "must be 0-1048575").optional(),
};
type GeneveData = z.output<z.ZodObject<typeof schema>>;

export interface GeneveInfo {
  vni?: number;
  remote?: string;
  port?: number;
  ttl?: number;
  tos?: number;
  label?: number;
}

/** Generic Network Virtualization Encapsulation (RFC 8926). */
export const geneveKind = defineKind({
  kind: "geneve",
  schema,
  // Attribute order and defaults as iproute2's `ip link add ... type geneve`.
  encode(w, s: GeneveData) {
    w.u32(C.IFLA_GENEVE_ID, s.vni);
    w.attr(isIPv4(s.remote) ? C.IFLA_GENEVE_REMOTE : C.IFLA_GENEVE_REMOTE6, ipToBytes(s.remote));
    w.be32(C.IFLA_GENEVE_LABEL, s.label ?? 0);
    w.u8(C.IFLA_GENEVE_TTL, s.ttl ?? 0);
    w.u8(C.IFLA_GENEVE_TOS, s.tos ?? 0);
    w.be16(C.IFLA_GENEVE_PORT, s.port ?? 6081);
  },
  decode(attrs: RawAttr[]): GeneveInfo {
    const out: GeneveInfo = {};
    for (const a of attrs) {
      if (a.type === C.IFLA_GENEVE_ID) out.vni = read.u32(a);
      if (a.type === C.IFLA_GENEVE_REMOTE || a.type === C.IFLA_GENEVE_REMOTE6) out.remote = bytesToIp(a.data);
      if (a.type === C.IFLA_GENEVE_PORT) out.port = read.be16(a);
      if (a.type === C.IFLA_GENEVE_TTL) out.ttl = read.u8(a);
      if (a.type === C.IFLA_GENEVE_TOS) out.tos = read.u8(a);
      if (a.type === C.IFLA_GENEVE_LABEL) out.label = read.be32(a);
    }
    return out;
  },
});
