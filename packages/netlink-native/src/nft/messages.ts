// nftables messages (tables, chains, rules) and the batch that carries them. Pure: bytes in, bytes
// out. Attribute order and flags follow nft 1.0.6 (libnftnl), so a batch we build equals the one
// `nft` sends for the same command (test/nft-bytes.test.ts compares them).
import { attrMap, parseAttrs, type RawAttr, read } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { encodeMessage } from "../codec/message.js";
import { AttrWriter } from "../codec/writer.js";
import {
  FAMILIES,
  familyName,
  HOOKS,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG,
  NFTA_CHAIN,
  NFTA_HOOK,
  NFTA_RULE,
  NFTA_TABLE,
  type NftFamily,
  nftType,
  UDATA_COMMENT,
} from "./constants.js";
import { decodeExpression, type NftExpression, writeExpression } from "./expressions.js";

/** One message of a batch, before sequence numbers are given. */
export interface NftRequest {
  type: number;
  flags: number;
  body: Buffer;
  /** What it is about, for errors: `table add "bridge vmnet0"`. */
  op: string;
  object: string;
}

/** struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big-endian). */
function nfgen(w: AttrWriter, family: number, resId = 0): void {
  w.fixed(4, (b, at) => {
    b.writeUInt8(family, at);
    b.writeUInt8(0, at + 1);
    b.writeUInt16BE(resId, at + 2);
  });
}

/** libnftnl's user data: a TLV (type u8, length u8) holding the NUL-terminated comment. */
export function encodeComment(comment: string): Buffer {
  const text = Buffer.from(`${comment}\0`, "utf8");
  if (text.length > 255) throw new RangeError("nft comment: at most 254 bytes");
  return Buffer.concat([Buffer.from([UDATA_COMMENT, text.length]), text]);
}

export function decodeComment(udata: Buffer): string | undefined {
  let at = 0;
  while (at + 2 <= udata.length) {
    const type = udata[at] as number;
    const len = udata[at + 1] as number;
    if (at + 2 + len > udata.length) return undefined;
    if (type === UDATA_COMMENT) {
      const text = udata.subarray(at + 2, at + 2 + len);
      const end = text.indexOf(0);
      return text.subarray(0, end < 0 ? text.length : end).toString("utf8");
    }
    at += 2 + len;
  }
  return undefined;
}

const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};

export interface TableSpec {
  family: NftFamily;
  name: string;
  comment?: string;
  /** Fail with EEXIST when the table exists (nft's `create table`), instead of updating it. */
  exclusive?: boolean;
}

export function tableAdd(t: TableSpec): NftRequest {
  const w = new AttrWriter();
  nfgen(w, FAMILIES[t.family]);
  w.string(NFTA_TABLE.NAME, t.name);
  w.attr(NFTA_TABLE.FLAGS, be32(0));
  if (t.comment !== undefined) w.attr(NFTA_TABLE.USERDATA, encodeComment(t.comment));
  return {
    type: nftType(NFT_MSG.NEWTABLE),
    // nft's `add` sends no NLM_F_CREATE: the kernel creates the table or updates the existing one.
    flags: t.exclusive ? C.NLM_F_REQUEST | C.NLM_F_CREATE | C.NLM_F_EXCL : C.NLM_F_REQUEST,
    body: w.finish(),
    op: "table add",
    object: `${t.family} ${t.name}`,
  };
}

export function tableDelete(family: NftFamily, name: string): NftRequest {
  const w = new AttrWriter();
  nfgen(w, FAMILIES[family]);
  w.string(NFTA_TABLE.NAME, name);
  return {
    type: nftType(NFT_MSG.DELTABLE),
    flags: C.NLM_F_REQUEST,
    body: w.finish(),
    op: "table delete",
    object: `${family} ${name}`,
  };
}

export interface ChainSpec {
  family: NftFamily;
  table: string;
  name: string;
  /** A base chain: where it hooks in. Absent for a regular chain (a jump target). */
  hook?: {
    /** e.g. "forward" (bridge), "ingress"/"egress" (netdev, with `device`). */
    hook: string;
    priority: number;
    type?: "filter" | "nat" | "route";
    device?: string;
    policy?: "accept" | "drop";
  };
}

function hookNumber(family: NftFamily, hook: string): number {
  const table: Record<string, number> =
    family === "bridge" ? HOOKS.bridge : family === "netdev" ? HOOKS.netdev : HOOKS.inet;
  const n = table[hook];
  if (n === undefined) throw new RangeError(`nft chain: no hook "${hook}" in the ${family} family`);
  return n;
}

export function chainAdd(c: ChainSpec): NftRequest {
  const w = new AttrWriter();
  nfgen(w, FAMILIES[c.family]);
  w.string(NFTA_CHAIN.TABLE, c.table);
  w.string(NFTA_CHAIN.NAME, c.name);
  if (c.hook) {
    w.string(NFTA_CHAIN.TYPE, c.hook.type ?? "filter");
    if (c.hook.policy !== undefined) w.attr(NFTA_CHAIN.POLICY, be32(c.hook.policy === "accept" ? 1 : 0));
    w.begin(NFTA_CHAIN.HOOK, true);
    w.attr(NFTA_HOOK.HOOKNUM, be32(hookNumber(c.family, c.hook.hook)));
    w.attr(NFTA_HOOK.PRIORITY, be32(c.hook.priority));
    if (c.hook.device !== undefined) w.string(NFTA_HOOK.DEV, c.hook.device);
    w.end();
  }
  return {
    type: nftType(NFT_MSG.NEWCHAIN),
    flags: C.NLM_F_REQUEST | C.NLM_F_CREATE,
    body: w.finish(),
    op: "chain add",
    object: `${c.family} ${c.table} ${c.name}`,
  };
}

export interface RuleSpec {
  family: NftFamily;
  table: string;
  chain: string;
  expressions: NftExpression[];
  comment?: string;
}

export function ruleAdd(r: RuleSpec): NftRequest {
  const w = new AttrWriter(512);
  nfgen(w, FAMILIES[r.family]);
  w.string(NFTA_RULE.TABLE, r.table);
  w.string(NFTA_RULE.CHAIN, r.chain);
  w.begin(NFTA_RULE.EXPRESSIONS, true);
  for (const e of r.expressions) writeExpression(w, e);
  w.end();
  if (r.comment !== undefined) w.attr(NFTA_RULE.USERDATA, encodeComment(r.comment));
  return {
    type: nftType(NFT_MSG.NEWRULE),
    flags: C.NLM_F_REQUEST | C.NLM_F_CREATE | C.NLM_F_APPEND,
    body: w.finish(),
    op: "rule add",
    object: `${r.family} ${r.table} ${r.chain}`,
  };
}

/** A dump of every table/chain/rule (of one family, or all). */
export function dumpRequest(
  what: "tables" | "chains" | "rules",
  family?: NftFamily,
): { type: number; body: Buffer } {
  const w = new AttrWriter();
  nfgen(w, family === undefined ? 0 : FAMILIES[family]);
  const msg = what === "tables" ? NFT_MSG.GETTABLE : what === "chains" ? NFT_MSG.GETCHAIN : NFT_MSG.GETRULE;
  return { type: nftType(msg), body: w.finish() };
}

/**
 * A whole batch as one buffer: BATCH_BEGIN, the requests, BATCH_END. The kernel applies it as one
 * transaction: all of it or none. `seq` numbers the messages from `firstSeq` on; `ack` adds
 * NLM_F_ACK to each request so every one is answered (nft itself sends none and waits for errors).
 */
export function encodeBatch(requests: readonly NftRequest[], firstSeq = 0, ack = false): Buffer {
  const marker = (type: number, seq: number) => {
    const w = new AttrWriter();
    nfgen(w, 0, NFNL_SUBSYS_NFTABLES);
    return encodeMessage({ type, flags: C.NLM_F_REQUEST, seq, pid: 0 }, w.finish());
  };
  const seqOf = (i: number) => (firstSeq === 0 ? 0 : firstSeq + i);
  const parts = [marker(NFNL_MSG_BATCH_BEGIN, seqOf(0))];
  requests.forEach((r, i) => {
    parts.push(
      encodeMessage(
        { type: r.type, flags: r.flags | (ack ? C.NLM_F_ACK : 0), seq: seqOf(i + 1), pid: 0 },
        r.body,
      ),
    );
  });
  parts.push(marker(NFNL_MSG_BATCH_END, seqOf(requests.length + 1)));
  return Buffer.concat(parts);
}

// Reading back.

export interface NftTable {
  family: NftFamily;
  name: string;
  handle: bigint;
  flags: number;
  /** Number of chains (and sets) in it. */
  use: number;
  comment?: string;
}

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  handle: bigint;
  hook?: { hook: number; priority: number; device?: string };
  type?: string;
  policy?: "accept" | "drop";
  use: number;
}

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  handle: bigint;
  expressions: NftExpression[];
  comment?: string;
}

function header(body: Buffer): { family: NftFamily | undefined; attrs: Map<number, RawAttr> } {
  return { family: familyName(body.readUInt8(0)), attrs: attrMap(parseAttrs(body.subarray(4), 4)) };
}

const str = (m: Map<number, RawAttr>, t: number) => {
  const a = m.get(t);
  return a ? read.string(a) : "";
};
const u64 = (m: Map<number, RawAttr>, t: number) => {
  const a = m.get(t);
  return a && a.length >= 8 ? a.data.readBigUInt64BE(0) : 0n;
};
const u32be = (m: Map<number, RawAttr>, t: number) => {
  const a = m.get(t);
  return a ? read.be32(a) : 0;
};

export function decodeTable(body: Buffer): NftTable | undefined {
  const { family, attrs } = header(body);
  if (!family) return undefined;
  const udata = attrs.get(NFTA_TABLE.USERDATA);
  const comment = udata ? decodeComment(Buffer.from(udata.data)) : undefined;
  return {
    family,
    name: str(attrs, NFTA_TABLE.NAME),
    handle: u64(attrs, NFTA_TABLE.HANDLE),
    flags: u32be(attrs, NFTA_TABLE.FLAGS),
    use: u32be(attrs, NFTA_TABLE.USE),
    ...(comment !== undefined && { comment }),
  };
}

export function decodeChain(body: Buffer): NftChain | undefined {
  const { family, attrs } = header(body);
  if (!family) return undefined;
  const chain: NftChain = {
    family,
    table: str(attrs, NFTA_CHAIN.TABLE),
    name: str(attrs, NFTA_CHAIN.NAME),
    handle: u64(attrs, NFTA_CHAIN.HANDLE),
    use: u32be(attrs, NFTA_CHAIN.USE),
  };
  const hook = attrs.get(NFTA_CHAIN.HOOK);
  if (hook) {
    const h = attrMap(read.nested(hook));
    const dev = h.get(NFTA_HOOK.DEV);
    const prio = h.get(NFTA_HOOK.PRIORITY);
    chain.hook = {
      hook: u32be(h, NFTA_HOOK.HOOKNUM),
      priority: prio ? prio.data.readInt32BE(0) : 0,
      ...(dev && { device: read.string(dev) }),
    };
  }
  if (attrs.has(NFTA_CHAIN.TYPE)) chain.type = str(attrs, NFTA_CHAIN.TYPE);
  if (attrs.has(NFTA_CHAIN.POLICY)) chain.policy = u32be(attrs, NFTA_CHAIN.POLICY) === 1 ? "accept" : "drop";
  return chain;
}

export function decodeRule(body: Buffer): NftRule | undefined {
  const { family, attrs } = header(body);
  if (!family) return undefined;
  const exprs = attrs.get(NFTA_RULE.EXPRESSIONS);
  const udata = attrs.get(NFTA_RULE.USERDATA);
  const comment = udata ? decodeComment(Buffer.from(udata.data)) : undefined;
  return {
    family,
    table: str(attrs, NFTA_RULE.TABLE),
    chain: str(attrs, NFTA_RULE.CHAIN),
    handle: u64(attrs, NFTA_RULE.HANDLE),
    expressions: exprs ? read.nested(exprs).map(decodeExpression) : [],
    ...(comment !== undefined && { comment }),
  };
}
