// Builders for the address, conntrack and NAT matches people write in nft's language, each the
// expression list nft 1.0.6 generates for it (test/nft-nat-bytes.test.ts compares them with nft's
// own requests): `ip saddr 10.0.2.0/24`, `ct state established,related`, `dnat ip to A:P`,
// `masquerade`, `icmpv6 type N`.
import { ipToBytes, parseCidr } from "../codec/addresses.js";
import {
  CT_STATES,
  type CtState,
  NF_NAT_RANGE,
  NFPROTO,
  NFT_REG_1,
  NFT_REG_2,
  type NfProto,
} from "./constants.js";
import { matchL4Proto, type NftExpression } from "./expressions.js";

/** `meta nfproto ipv4|ipv6`: what nft puts before an IP header match in an inet table. */
export function matchNfproto(family: NfProto): NftExpression[] {
  return [
    { kind: "meta", key: "nfproto" },
    { kind: "cmp", op: "eq", data: Buffer.from([NFPROTO[family]]) },
  ];
}

/**
 * `ip saddr 10.0.2.0/24`, `ip6 daddr fd00::5` (inet family: with the nfproto guard). As nft does:
 * a byte-aligned prefix loads only the prefix bytes; any other prefix loads the whole address
 * and masks it with a bitwise expression.
 */
export function matchAddress(direction: "saddr" | "daddr", cidr: string): NftExpression[] {
  const { address, prefix, family } = parseCidr(cidr);
  const v6 = family !== 2;
  const size = v6 ? 16 : 4;
  if (prefix === 0) throw new RangeError(`nft address match: a /0 prefix matches everything (${cidr})`);
  const offset = (v6 ? 8 : 12) + (direction === "daddr" ? size : 0);
  const bytes = ipToBytes(address);
  const out = matchNfproto(v6 ? "ipv6" : "ipv4");
  if (prefix % 8 === 0) {
    const len = prefix / 8;
    out.push(
      { kind: "payload", base: "network", offset, len },
      { kind: "cmp", op: "eq", data: bytes.subarray(0, len) },
    );
    return out;
  }
  const mask = Buffer.alloc(size);
  for (let bit = 0; bit < prefix; bit++) mask[bit >> 3] = (mask[bit >> 3] as number) | (0x80 >> (bit & 7));
  const masked = Buffer.from(bytes.map((b, i) => b & (mask[i] as number)));
  out.push(
    { kind: "payload", base: "network", offset, len: size },
    { kind: "bitwise", len: size, mask, xor: Buffer.alloc(size) },
    { kind: "cmp", op: "eq", data: masked },
  );
  return out;
}

/** `ct state established,related` (any of the states). */
export function matchCtState(states: readonly CtState[]): NftExpression[] {
  const mask = Buffer.alloc(4);
  mask.writeUInt32LE(
    states.reduce((bits, s) => bits | CT_STATES[s], 0),
    0,
  );
  return [
    { kind: "ct", key: "state" },
    { kind: "bitwise", len: 4, mask, xor: Buffer.alloc(4) },
    { kind: "cmp", op: "neq", data: Buffer.alloc(4) },
  ];
}

/**
 * `icmpv6 type N` (133 router solicitation, 134 router advertisement), with nft's guards: in the
 * inet/ip6 families `meta nfproto ipv6`; in the bridge family (`family: "bridge"`) the frame's
 * EtherType (0x86dd), loaded from the link-layer header.
 */
export function matchIcmpv6Type(type: number, family: "inet" | "bridge" = "inet"): NftExpression[] {
  const guard: NftExpression[] =
    family === "bridge"
      ? [
          { kind: "payload", base: "link", offset: 12, len: 2 },
          { kind: "cmp", op: "eq", data: Buffer.from([0x86, 0xdd]) },
        ]
      : matchNfproto("ipv6");
  return [
    ...guard,
    ...matchL4Proto(58),
    { kind: "payload", base: "transport", offset: 0, len: 1 },
    { kind: "cmp", op: "eq", data: Buffer.from([type]) },
  ];
}

/** `dnat ip to 10.0.2.2:80` / `snat ip6 to [fd10::2]` (the port is optional). */
export function natTo(type: "snat" | "dnat", address: string, port?: number): NftExpression[] {
  const data = ipToBytes(address);
  const family: NfProto = data.length === 4 ? "ipv4" : "ipv6";
  const out: NftExpression[] = [{ kind: "immediate", dreg: NFT_REG_1, data }];
  if (port === undefined) {
    out.push({ kind: "nat", type, family, addrReg: NFT_REG_1 });
    return out;
  }
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port, 0);
  out.push(
    { kind: "immediate", dreg: NFT_REG_2, data: p },
    {
      kind: "nat",
      type,
      family,
      addrReg: NFT_REG_1,
      protoReg: NFT_REG_2,
      flags: NF_NAT_RANGE.PROTO_SPECIFIED,
    },
  );
  return out;
}

/** `masquerade`: source NAT to the address of the interface the packet leaves by. */
export function masquerade(): NftExpression {
  return { kind: "masq" };
}
