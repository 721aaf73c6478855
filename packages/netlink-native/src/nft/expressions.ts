// nftables rule expressions: the small register machine a rule is made of. Each kind here encodes
// exactly as libnftnl does (attribute order, big-endian integers, NLA_F_NESTED), so our requests
// equal nft's byte for byte; kinds we do not model are kept raw when a rule is read back.
import { parseAttrs, type RawAttr, read } from "../codec/attrs.js";
import type { AttrWriter } from "../codec/writer.js";
import {
  CMP_OPS,
  type CmpOp,
  CT_KEYS,
  type CtKey,
  META_KEYS,
  type MetaKey,
  NAT_TYPES,
  type NatType,
  NFPROTO,
  NFT_REG_1,
  NFT_REG_VERDICT,
  NFTA_BITWISE,
  NFTA_CMP,
  NFTA_COUNTER,
  NFTA_CT,
  NFTA_DATA,
  NFTA_EXPR,
  NFTA_IMMEDIATE,
  NFTA_LIST_ELEM,
  NFTA_MASQ,
  NFTA_META,
  NFTA_NAT,
  NFTA_PAYLOAD,
  NFTA_VERDICT,
  type NfProto,
  PAYLOAD_BASES,
  type PayloadBase,
  VERDICTS,
  type Verdict,
} from "./constants.js";

export type NftExpression =
  /** Loads packet metadata (interface name, layer-4 protocol, ...) into a register. */
  | { kind: "meta"; key: MetaKey; dreg?: number }
  /** Compares a register with bytes (network byte order, as the packet holds them). */
  | { kind: "cmp"; op: CmpOp; data: Buffer; sreg?: number }
  /** Loads `len` bytes at `offset` from a header into a register. */
  | { kind: "payload"; base: PayloadBase; offset: number; len: number; dreg?: number }
  /** `(reg & mask) ^ xor` over `len` bytes (prefix matches, flag tests). */
  | { kind: "bitwise"; len: number; mask: Buffer; xor: Buffer; sreg?: number; dreg?: number }
  /** Loads conntrack state into a register. */
  | { kind: "ct"; key: CtKey; dreg?: number }
  /** Ends the rule with a verdict. */
  | { kind: "immediate"; verdict: Verdict; chain?: string }
  /** Puts constant bytes (a NAT address or port) into a data register. */
  | { kind: "immediate"; dreg: number; data: Buffer }
  /** Source or destination NAT to the address (and port) held in registers. */
  | {
      kind: "nat";
      type: NatType;
      family: NfProto;
      addrReg?: number;
      addrMaxReg?: number;
      protoReg?: number;
      protoMaxReg?: number;
      flags?: number;
    }
  /** Source NAT to the outgoing interface's address. */
  | { kind: "masq"; flags?: number; protoReg?: number; protoMaxReg?: number }
  | { kind: "counter"; bytes?: bigint; packets?: bigint }
  /** An expression this client does not model, as the kernel sent it. */
  | { kind: "raw"; name: string; data: Buffer };

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

const keyName = <T extends Record<string, number>>(table: T, n: number): keyof T | undefined =>
  (Object.keys(table) as (keyof T)[]).find((k) => table[k] === n);

/** Writes one NFTA_LIST_ELEM holding the expression. */
export function writeExpression(w: AttrWriter, e: NftExpression): void {
  w.begin(NFTA_LIST_ELEM, true);
  w.string(NFTA_EXPR.NAME, e.kind === "raw" ? e.name : e.kind);
  switch (e.kind) {
    case "meta":
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_META.KEY, be32(META_KEYS[e.key]));
      w.attr(NFTA_META.DREG, be32(e.dreg ?? NFT_REG_1));
      w.end();
      break;
    case "cmp":
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_CMP.SREG, be32(e.sreg ?? NFT_REG_1));
      w.attr(NFTA_CMP.OP, be32(CMP_OPS[e.op]));
      w.begin(NFTA_CMP.DATA, true);
      w.attr(NFTA_DATA.VALUE, e.data);
      w.end();
      w.end();
      break;
    case "payload":
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_PAYLOAD.DREG, be32(e.dreg ?? NFT_REG_1));
      w.attr(NFTA_PAYLOAD.BASE, be32(PAYLOAD_BASES[e.base]));
      w.attr(NFTA_PAYLOAD.OFFSET, be32(e.offset));
      w.attr(NFTA_PAYLOAD.LEN, be32(e.len));
      w.end();
      break;
    case "bitwise":
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_BITWISE.SREG, be32(e.sreg ?? NFT_REG_1));
      w.attr(NFTA_BITWISE.DREG, be32(e.dreg ?? NFT_REG_1));
      w.attr(NFTA_BITWISE.LEN, be32(e.len));
      w.begin(NFTA_BITWISE.MASK, true);
      w.attr(NFTA_DATA.VALUE, e.mask);
      w.end();
      w.begin(NFTA_BITWISE.XOR, true);
      w.attr(NFTA_DATA.VALUE, e.xor);
      w.end();
      w.end();
      break;
    case "ct":
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_CT.KEY, be32(CT_KEYS[e.key]));
      w.attr(NFTA_CT.DREG, be32(e.dreg ?? NFT_REG_1));
      w.end();
      break;
    case "nat": {
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_NAT.TYPE, be32(NAT_TYPES[e.type]));
      w.attr(NFTA_NAT.FAMILY, be32(NFPROTO[e.family]));
      const regs: [number, number | undefined][] = [
        [NFTA_NAT.REG_ADDR_MIN, e.addrReg],
        [NFTA_NAT.REG_ADDR_MAX, e.addrMaxReg],
        [NFTA_NAT.REG_PROTO_MIN, e.protoReg],
        [NFTA_NAT.REG_PROTO_MAX, e.protoMaxReg],
        [NFTA_NAT.FLAGS, e.flags],
      ];
      for (const [type, value] of regs) if (value !== undefined) w.attr(type, be32(value));
      w.end();
      break;
    }
    case "masq":
      // nft sends an empty (nested) data attribute for a plain `masquerade`.
      w.begin(NFTA_EXPR.DATA, true);
      if (e.flags !== undefined) w.attr(NFTA_MASQ.FLAGS, be32(e.flags));
      if (e.protoReg !== undefined) w.attr(NFTA_MASQ.REG_PROTO_MIN, be32(e.protoReg));
      if (e.protoMaxReg !== undefined) w.attr(NFTA_MASQ.REG_PROTO_MAX, be32(e.protoMaxReg));
      w.end();
      break;
    case "immediate":
      if ("data" in e) {
        w.begin(NFTA_EXPR.DATA, true);
        w.attr(NFTA_IMMEDIATE.DREG, be32(e.dreg));
        w.begin(NFTA_IMMEDIATE.DATA, true);
        w.attr(NFTA_DATA.VALUE, e.data);
        w.end();
        w.end();
        break;
      }
      w.begin(NFTA_EXPR.DATA, true);
      w.attr(NFTA_IMMEDIATE.DREG, be32(NFT_REG_VERDICT));
      w.begin(NFTA_IMMEDIATE.DATA, true);
      w.begin(NFTA_DATA.VERDICT, true);
      w.attr(NFTA_VERDICT.CODE, be32(VERDICTS[e.verdict]));
      if (e.chain !== undefined) w.string(NFTA_VERDICT.CHAIN, e.chain);
      w.end();
      w.end();
      w.end();
      break;
    case "counter":
      // nft sends a counter with no data; the kernel starts it at zero.
      break;
    case "raw":
      if (e.data.length > 0) w.attr(NFTA_EXPR.DATA | 0x8000, e.data);
      break;
  }
  w.end();
}

function attrsOf(attrs: RawAttr[]): Map<number, RawAttr> {
  return new Map(attrs.map((a) => [a.type, a]));
}

function decodeData(a: RawAttr | undefined): Buffer {
  if (!a) return Buffer.alloc(0);
  const value = attrsOf(read.nested(a)).get(NFTA_DATA.VALUE);
  return value ? Buffer.from(value.data) : Buffer.alloc(0);
}

/** Decodes one NFTA_LIST_ELEM; kinds and keys this client does not know come back as `raw`. */
export function decodeExpression(elem: RawAttr): NftExpression {
  const top = attrsOf(read.nested(elem));
  const nameAttr = top.get(NFTA_EXPR.NAME);
  const name = nameAttr ? read.string(nameAttr) : "";
  const dataAttr = top.get(NFTA_EXPR.DATA);
  const data = dataAttr ? attrsOf(parseAttrs(dataAttr.data)) : new Map<number, RawAttr>();
  const raw = (): NftExpression => ({ kind: "raw", name, data: Buffer.from(dataAttr?.data ?? []) });
  const u = (t: number) => {
    const a = data.get(t);
    return a ? read.be32(a) : undefined;
  };
  switch (name) {
    case "meta": {
      const key = keyName(META_KEYS, u(NFTA_META.KEY) ?? -1);
      if (key === undefined || !data.has(NFTA_META.DREG)) return raw();
      return { kind: "meta", key, dreg: u(NFTA_META.DREG) as number };
    }
    case "cmp": {
      const op = keyName(CMP_OPS, u(NFTA_CMP.OP) ?? -1);
      if (op === undefined) return raw();
      return { kind: "cmp", op, data: decodeData(data.get(NFTA_CMP.DATA)), sreg: u(NFTA_CMP.SREG) ?? 0 };
    }
    case "payload": {
      const base = keyName(PAYLOAD_BASES, u(NFTA_PAYLOAD.BASE) ?? -1);
      if (base === undefined || !data.has(NFTA_PAYLOAD.DREG)) return raw();
      return {
        kind: "payload",
        base,
        offset: u(NFTA_PAYLOAD.OFFSET) ?? 0,
        len: u(NFTA_PAYLOAD.LEN) ?? 0,
        dreg: u(NFTA_PAYLOAD.DREG) as number,
      };
    }
    case "bitwise": {
      if (!data.has(NFTA_BITWISE.MASK) || !data.has(NFTA_BITWISE.XOR)) return raw();
      return {
        kind: "bitwise",
        sreg: u(NFTA_BITWISE.SREG) ?? 0,
        dreg: u(NFTA_BITWISE.DREG) ?? 0,
        len: u(NFTA_BITWISE.LEN) ?? 0,
        mask: decodeData(data.get(NFTA_BITWISE.MASK)),
        xor: decodeData(data.get(NFTA_BITWISE.XOR)),
      };
    }
    case "ct": {
      const key = keyName(CT_KEYS, u(NFTA_CT.KEY) ?? -1);
      if (key === undefined || !data.has(NFTA_CT.DREG)) return raw();
      return { kind: "ct", key, dreg: u(NFTA_CT.DREG) as number };
    }
    case "nat": {
      const type = keyName(NAT_TYPES, u(NFTA_NAT.TYPE) ?? -1);
      const family = keyName(NFPROTO, u(NFTA_NAT.FAMILY) ?? -1);
      if (type === undefined || family === undefined) return raw();
      const opt = (t: number, k: string) => (data.has(t) ? { [k]: u(t) as number } : {});
      return {
        kind: "nat",
        type,
        family,
        ...opt(NFTA_NAT.REG_ADDR_MIN, "addrReg"),
        ...opt(NFTA_NAT.REG_ADDR_MAX, "addrMaxReg"),
        ...opt(NFTA_NAT.REG_PROTO_MIN, "protoReg"),
        ...opt(NFTA_NAT.REG_PROTO_MAX, "protoMaxReg"),
        ...opt(NFTA_NAT.FLAGS, "flags"),
      };
    }
    case "masq": {
      const opt = (t: number, k: string) => (data.has(t) ? { [k]: u(t) as number } : {});
      return {
        kind: "masq",
        ...opt(NFTA_MASQ.FLAGS, "flags"),
        ...opt(NFTA_MASQ.REG_PROTO_MIN, "protoReg"),
        ...opt(NFTA_MASQ.REG_PROTO_MAX, "protoMaxReg"),
      };
    }
    case "immediate": {
      const dreg = u(NFTA_IMMEDIATE.DREG);
      if (dreg !== undefined && dreg !== NFT_REG_VERDICT) {
        const value = data.get(NFTA_IMMEDIATE.DATA);
        if (!value) return raw();
        return { kind: "immediate", dreg, data: decodeData(value) };
      }
      const d = data.get(NFTA_IMMEDIATE.DATA);
      const verdictAttr = d ? attrsOf(read.nested(d)).get(NFTA_DATA.VERDICT) : undefined;
      if (!verdictAttr) return raw();
      const v = attrsOf(read.nested(verdictAttr));
      const codeAttr = v.get(NFTA_VERDICT.CODE);
      const verdict = keyName(VERDICTS, codeAttr ? codeAttr.data.readInt32BE(0) : 99);
      if (verdict === undefined) return raw();
      const chainAttr = v.get(NFTA_VERDICT.CHAIN);
      return chainAttr
        ? { kind: "immediate", verdict, chain: read.string(chainAttr) }
        : { kind: "immediate", verdict };
    }
    case "counter": {
      const bytes = data.get(NFTA_COUNTER.BYTES);
      const packets = data.get(NFTA_COUNTER.PACKETS);
      return {
        kind: "counter",
        ...(bytes && { bytes: bytes.data.readBigUInt64BE(0) }),
        ...(packets && { packets: packets.data.readBigUInt64BE(0) }),
      };
    }
    default:
      return raw();
  }
}

// Builders for the matches people write in nft's language.

/** `iifname NAME` / `oifname NAME`: the name zero-padded to IFNAMSIZ, as nft compares it. */
export function matchInterfaceName(direction: "iifname" | "oifname", name: string): NftExpression[] {
  const data = Buffer.alloc(16);
  data.write(name, 0, 15, "utf8");
  return [
    { kind: "meta", key: direction },
    { kind: "cmp", op: "eq", data },
  ];
}

/** `meta l4proto N` (udp is 17). */
export function matchL4Proto(proto: number): NftExpression[] {
  return [
    { kind: "meta", key: "l4proto" },
    { kind: "cmp", op: "eq", data: Buffer.from([proto]) },
  ];
}

/** `meta protocol ip` (an EtherType, e.g. 0x0800). */
export function matchEtherType(type: number): NftExpression[] {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(type, 0);
  return [
    { kind: "meta", key: "protocol" },
    { kind: "cmp", op: "eq", data },
  ];
}

/** `udp dport LO-HI` (or one port when lo = hi), after matchL4Proto(17). */
export function matchDestinationPorts(lo: number, hi = lo): NftExpression[] {
  const port = (p: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(p, 0);
    return b;
  };
  const load: NftExpression = { kind: "payload", base: "transport", offset: 2, len: 2 };
  if (lo === hi) return [load, { kind: "cmp", op: "eq", data: port(lo) }];
  return [load, { kind: "cmp", op: "gte", data: port(lo) }, { kind: "cmp", op: "lte", data: port(hi) }];
}

/** Ends a rule with a verdict (`drop`, `accept`, ...). */
export function verdict(v: Verdict): NftExpression {
  return { kind: "immediate", verdict: v };
}
