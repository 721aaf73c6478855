// u32: the universal 32-bit classifier. A selector is a list of keys (value/mask of one aligned
// 32-bit word at an offset from the network header, or from the next header); matches as tc
// writes them ("ip dst 10.0.0.0/24", "udp dst 53", "u16 0x0800 0xffff at -2") are packed into
// keys exactly as tc's pack_key() does, so the selector bytes equal tc's. A filter ends in a class
// (classid/flowid) and/or actions (mirred).
import { isIPv4, isIPv6 } from "node:net";
import { type AttrWriter, ipToBytes, parseAttrs, read } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import {
  type ActionInfo,
  actionSchema,
  type ResolvedAction,
  readActionList,
  writeActionList,
} from "../actions/action.js";
import * as C from "../constants.js";
import { TcInputError } from "../errors.js";
import { formatHandle, type Handle, parseHandle } from "../handle.js";
import type { CodecContext } from "../kinds/kind.js";
import { u32 } from "../validate.js";
import { defineFilterKind } from "./kind.js";

/** Matches on one header field, named as tc names them ("ip dport" is "ip.dport"). */
export const FIELD_MATCHES = [
  "ip.protocol",
  "ip.tos",
  "ip.dsfield",
  "ip.ihl",
  "ip.sport",
  "ip.dport",
  "ip.icmp_type",
  "ip.icmp_code",
  "ip6.protocol",
  "ip6.priority",
  "ip6.flowlabel",
  "ip6.sport",
  "ip6.dport",
  "ip6.icmp_type",
  "ip6.icmp_code",
  "udp.src",
  "udp.dst",
  "tcp.src",
  "tcp.dst",
  "icmp.type",
  "icmp.code",
] as const;
export type FieldMatch = (typeof FIELD_MATCHES)[number];

/** One match. `value`/`mask` are host-order numbers (mask defaults to the field's width); `at` overrides the offset. */
export type U32Match =
  | { match: "u32" | "u16" | "u8"; value: number; mask?: number; at?: number; nexthdr?: boolean }
  | { match: "ip.src" | "ip.dst"; value: string; at?: number }
  | { match: "ip6.src" | "ip6.dst"; value: string; at?: number }
  | { match: FieldMatch; value: number; mask?: number; at?: number }
  | { match: "ip.nofrag" | "ip.firstfrag" | "ip.df" | "ip.mf" }
  | { match: "ether.src" | "ether.dst"; value: string; at?: number }
  | { match: "mark"; value: number; mask?: number };

/**
 * Field layouts: width, offset from the header start, and offmask -1 when the offset counts from
 * the next header (transport) rather than the network header. ip6.priority (traffic class) sits
 * at bit 20 of the first word and is packed specially.
 */
const FIELDS: Record<FieldMatch, { width: 8 | 16 | 32; off: number; offmask?: number }> = {
  "ip6.priority": { width: 8, off: 0 },
  "ip.protocol": { width: 8, off: 9 },
  "ip.tos": { width: 8, off: 1 },
  "ip.dsfield": { width: 8, off: 1 },
  "ip.ihl": { width: 8, off: 0 },
  "ip.sport": { width: 16, off: 20 },
  "ip.dport": { width: 16, off: 22 },
  "ip.icmp_type": { width: 8, off: 20 },
  "ip.icmp_code": { width: 8, off: 21 },
  "ip6.protocol": { width: 8, off: 6 },
  "ip6.flowlabel": { width: 32, off: 0 },
  "ip6.sport": { width: 16, off: 40 },
  "ip6.dport": { width: 16, off: 42 },
  "ip6.icmp_type": { width: 8, off: 40 },
  // tc passes offmask 1 here (not -1); kept for identical bytes.
  "ip6.icmp_code": { width: 8, off: 41, offmask: 1 },
  "udp.src": { width: 16, off: 0, offmask: -1 },
  "udp.dst": { width: 16, off: 2, offmask: -1 },
  "tcp.src": { width: 16, off: 0, offmask: -1 },
  "tcp.dst": { width: 16, off: 2, offmask: -1 },
  "icmp.type": { width: 8, off: 0, offmask: -1 },
  "icmp.code": { width: 8, off: 1, offmask: -1 },
};

const FLAG_MATCHES: Record<string, [number, number]> = {
  "ip.nofrag": [0, 0x3fff],
  "ip.firstfrag": [0x2000, 0x3fff],
  "ip.df": [0x4000, 0x4000],
  "ip.mf": [0x2000, 0x2000],
};

const at = z.number().int().min(-0x80000000).max(0x7fffffff).optional();

const matchSchema = z.union([
  z
    .object({
      match: z.enum(["u32", "u16", "u8"]),
      value: u32,
      mask: u32.optional(),
      at,
      nexthdr: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      match: z.enum(["ip.src", "ip.dst"]),
      value: z.string().refine((s) => isIPv4(s.split("/")[0] ?? ""), "must be an IPv4 address or prefix"),
      at,
    })
    .strict(),
  z
    .object({
      match: z.enum(["ip6.src", "ip6.dst"]),
      value: z.string().refine((s) => isIPv6(s.split("/")[0] ?? ""), "must be an IPv6 address or prefix"),
      at,
    })
    .strict(),
  z.object({ match: z.enum(FIELD_MATCHES), value: u32, mask: u32.optional(), at }).strict(),
  z.object({ match: z.enum(["ip.nofrag", "ip.firstfrag", "ip.df", "ip.mf"]) }).strict(),
  z
    .object({
      match: z.enum(["ether.src", "ether.dst"]),
      value: z.string().regex(/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/, "must be a MAC address"),
      at,
    })
    .strict(),
  z.object({ match: z.literal("mark"), value: u32, mask: u32.optional() }).strict(),
]);

export const u32Schema = z
  .object({
    kind: z.literal("u32"),
    /** Matches, all of which must hold (tc's "match ..." list). */
    match: z.array(matchSchema).max(128, "at most 128 keys").optional(),
    /** Match every packet (tc's "match u32 0 0", what Kata's tc redirect uses). */
    matchAll: z.boolean().optional(),
    /** Class for matching packets (tc's "classid"/"flowid"), e.g. "1:10". */
    classid: z.union([z.string(), z.number()]).optional(),
    /** Actions for matching packets. */
    actions: z
      .array(actionSchema)
      .max(C.TCA_ACT_MAX_PRIO, `at most ${C.TCA_ACT_MAX_PRIO} actions`)
      .optional(),
    /** Only for packets that came in on this link (tc's "indev"). */
    indev: z.string().min(1).max(15).optional(),
    skipHw: z.boolean().optional(),
    skipSw: z.boolean().optional(),
    /** Makes this filter a hash table of that many buckets (tc's "divisor"; its handle is "N:"). */
    divisor: z
      .number()
      .int()
      .min(1, "must be at least 1")
      .max(0x100, "must be at most 256")
      .refine((d) => (d & (d - 1)) === 0, "must be a power of two")
      .optional(),
    /** The hash table (and bucket) this key node goes in: "2:", "2:7:" or "800::" (tc's "ht"). */
    ht: z.union([z.string(), z.number()]).optional(),
    /** Puts the node in the bucket this one-key match hashes to (tc's "sample"). */
    sample: matchSchema.optional(),
    /** Buckets of the table `sample` hashes for (default 256, as tc). */
    sampleDivisor: z.number().int().min(1).max(0x100).optional(),
    /** On a match, look further in this hash table ("2:") instead of deciding (tc's "link"). */
    link: z.union([z.string(), z.number()]).optional(),
    /** Which bits of the packet pick the bucket in the linked table (tc's "hashkey mask M at OFF"). */
    hashkey: z
      .object({ mask: u32, at: z.number().int().min(-0x8000).max(0x7fff) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.divisor !== undefined) {
      for (const f of ["match", "matchAll", "classid", "actions", "link", "hashkey", "sample", "ht"] as const)
        if (o[f] !== undefined)
          ctx.addIssue({ code: "custom", path: [f], message: 'a hash table ("divisor") takes no ' + f });
      return;
    }
    if (o.matchAll && o.match?.length)
      ctx.addIssue({ code: "custom", path: ["matchAll"], message: 'give "matchAll" or "match", not both' });
    if (!o.matchAll && !o.match?.length)
      ctx.addIssue({
        code: "custom",
        path: ["match"],
        message: 'give at least one match, or "matchAll: true"',
      });
    if (o.skipHw && o.skipSw)
      ctx.addIssue({ code: "custom", path: ["skipSw"], message: '"skipHw" and "skipSw" exclude each other' });
  });

export type U32Filter = z.input<typeof u32Schema>;

/** tc's sample hash: the key's value under its mask, read as the kernel's in-memory word, folded. */
export function sampleBucket(key: { value: number; mask: number }, divisor: number): number {
  const be = Buffer.alloc(4);
  be.writeUInt32BE((key.value & key.mask) >>> 0, 0);
  let h = be.readUInt32LE(0);
  h = (h ^ (h >>> 16)) >>> 0;
  h = (h ^ (h >>> 8)) >>> 0;
  return h % divisor;
}
export type U32Parsed = z.output<typeof u32Schema>;

/** One selector key as the kernel holds it; value and mask as host-order numbers of the BE word. */
export interface U32Key {
  value: number;
  mask: number;
  off: number;
  offmask: number;
}

export interface U32Info {
  kind: "u32";
  /** Selector keys (absent for hash-table entries, which only carry a divisor). */
  keys?: U32Key[];
  /** True when the selector is the single zero-mask key that matches everything. */
  matchAll?: boolean;
  terminal?: boolean;
  classid?: string;
  actions: ActionInfo[];
  divisor?: number;
  hash?: number;
  link?: number;
  indev?: string;
  flags?: number;
  mark?: { value: number; mask: number };
  /** Bits that pick the bucket in the linked table (tc's "hashkey"). */
  hashkey?: { mask: number; at: number };
}

class Selector {
  keys: U32Key[] = [];

  /** tc's pack_key(): merge into a key at the same offset, refusing contradictions. */
  pack(value: number, mask: number, off: number, offmask: number, field: string): void {
    const v = (value & mask) >>> 0;
    const existing = this.keys.find((k) => k.off === off && k.offmask === offmask);
    if (existing) {
      const intersect = (mask & existing.mask) >>> 0;
      if (((v ^ existing.value) & intersect) >>> 0 !== 0)
        throw new TcInputError(field, "contradicts an earlier match on the same bits");
      existing.value = (existing.value | v) >>> 0;
      existing.mask = (existing.mask | mask) >>> 0;
      return;
    }
    if (this.keys.length >= 128) throw new TcInputError(field, "a selector holds at most 128 keys");
    if (off % 4 !== 0) throw new TcInputError(field, "offset must be a multiple of 4 for a 32-bit match");
    this.keys.push({ value: v, mask: mask >>> 0, off, offmask });
  }

  pack16(value: number, mask: number, off: number, offmask: number, field: string): void {
    if (value > 0xffff || mask > 0xffff) throw new TcInputError(field, "value and mask must fit 16 bits");
    const shift = (off & 3) === 0 ? 16 : 0;
    this.pack((value << shift) >>> 0, (mask << shift) >>> 0, off & ~3, offmask, field);
  }

  pack8(value: number, mask: number, off: number, offmask: number, field: string): void {
    if (value > 0xff || mask > 0xff) throw new TcInputError(field, "value and mask must fit 8 bits");
    const shift = (3 - (off & 3)) * 8;
    this.pack((value << shift) >>> 0, (mask << shift) >>> 0, off & ~3, offmask, field);
  }
}

function prefix(value: string, family: 4 | 6, field: string): { bytes: Uint8Array; bits: number } {
  const [addr = "", len] = value.split("/");
  const max = family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max)
    throw new TcInputError(field, `bad prefix length in "${value}"`);
  return { bytes: ipToBytes(addr), bits };
}

function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/** Packs matches into a selector the way tc's parse_selector() does, in order. */
export function buildSelector(matches: readonly z.output<typeof matchSchema>[]): {
  keys: U32Key[];
  mark?: { value: number; mask: number };
} {
  const sel = new Selector();
  let mark: { value: number; mask: number } | undefined;
  matches.forEach((m, i) => {
    const field = `filter.match.${i}`;
    const atOff = "at" in m && m.at !== undefined ? m.at : undefined;
    switch (m.match) {
      case "u32":
      case "u16":
      case "u8": {
        const off = atOff ?? 0;
        const offmask = "nexthdr" in m && m.nexthdr ? -1 : 0;
        if (m.match === "u32") sel.pack(m.value, m.mask ?? 0xffffffff, off, offmask, field);
        else if (m.match === "u16") sel.pack16(m.value, m.mask ?? 0xffff, off, offmask, field);
        else sel.pack8(m.value, m.mask ?? 0xff, off, offmask, field);
        break;
      }
      case "ip.src":
      case "ip.dst": {
        const p = prefix(m.value, 4, field);
        const word = Buffer.from(p.bytes).readUInt32BE(0);
        sel.pack(word, maskOf(p.bits), atOff ?? (m.match === "ip.src" ? 12 : 16), 0, field);
        break;
      }
      case "ip6.src":
      case "ip6.dst": {
        const p = prefix(m.value, 6, field);
        const base = atOff ?? (m.match === "ip6.src" ? 8 : 24);
        const b = Buffer.from(p.bytes);
        for (let bit = 0; bit < p.bits; bit += 32) {
          sel.pack(b.readUInt32BE(bit / 8), maskOf(p.bits - bit), base + bit / 8, 0, field);
        }
        break;
      }
      case "ip.nofrag":
      case "ip.firstfrag":
      case "ip.df":
      case "ip.mf": {
        const [v, mk] = FLAG_MATCHES[m.match] as [number, number];
        sel.pack16(v, mk, 6, 0, field);
        break;
      }
      case "ether.src":
      case "ether.dst": {
        const bytes = m.value.split(":").map((h) => Number.parseInt(h, 16));
        const base = atOff ?? (m.match === "ether.src" ? -8 : -14);
        bytes.forEach((byte, j) => {
          sel.pack8(byte, 0xff, base + j, 0, field);
        });
        break;
      }
      case "mark": {
        const mask = m.mask ?? 0xffffffff;
        if ((m.value & mask) >>> 0 !== m.value >>> 0)
          throw new TcInputError(field, "value has bits outside the mask (an impossible combination)");
        mark = { value: m.value >>> 0, mask: mask >>> 0 };
        break;
      }
      default: {
        const f = FIELDS[m.match];
        const off = atOff ?? f.off;
        const offmask = f.offmask ?? 0;
        if (m.match === "ip6.priority") {
          if (m.value > 0xff || (m.mask ?? 0xff) > 0xff)
            throw new TcInputError(field, "value and mask must fit 8 bits");
          sel.pack((m.value << 20) >>> 0, ((m.mask ?? 0xff) << 20) >>> 0, 0, 0, field);
        } else if (f.width === 32) sel.pack(m.value, m.mask ?? 0xffffffff, off, offmask, field);
        else if (f.width === 16) sel.pack16(m.value, m.mask ?? 0xffff, off, offmask, field);
        else sel.pack8(m.value, m.mask ?? 0xff, off, offmask, field);
      }
    }
  });
  return mark ? { keys: sel.keys, mark } : { keys: sel.keys };
}

/** Writes a u32 filter's TCA_OPTIONS. `actions` have their target links already resolved. */
export function encodeU32(
  w: AttrWriter,
  o: U32Parsed,
  actions: readonly ResolvedAction[],
  ctx?: CodecContext,
): void {
  w.begin(C.TCA_OPTIONS);
  if (o.divisor !== undefined) {
    w.u32(C.TCA_U32_DIVISOR, o.divisor);
    w.end();
    return;
  }
  const { keys, mark } = o.matchAll
    ? { keys: [{ value: 0, mask: 0, off: 0, offmask: 0 }], mark: undefined }
    : buildSelector(o.match ?? []);
  const terminal = o.classid !== undefined || actions.length > 0;
  if (mark) {
    const b = Buffer.alloc(C.SIZEOF_TC_U32_MARK);
    b.writeUInt32LE(mark.value, 0);
    b.writeUInt32LE(mark.mask, 4);
    w.attr(C.TCA_U32_MARK, b);
  }
  if (o.classid !== undefined) w.u32(C.TCA_U32_CLASSID, parseHandle(o.classid as Handle, "filter.classid"));
  if (o.indev !== undefined) w.string(C.TCA_U32_INDEV, o.indev);
  if (actions.length > 0) {
    w.begin(C.TCA_U32_ACT);
    writeActionList(w, actions, ctx);
    w.end();
  }
  if (o.link !== undefined) w.u32(C.TCA_U32_LINK, parseU32Handle(o.link as Handle, "filter.link"));
  let ht = o.ht === undefined ? 0 : parseU32Handle(o.ht as Handle, "filter.ht");
  if (o.sample !== undefined) {
    const sampled = buildSelector([o.sample]).keys;
    if (sampled.length !== 1)
      throw new TcInputError(
        "filter.sample",
        "must be a match of exactly one key (a field of at most 32 bits)",
      );
    ht = ((ht & 0xfff00000) | (sampleBucket(sampled[0] as U32Key, o.sampleDivisor ?? 0x100) << 12)) >>> 0;
  }
  if (ht) w.u32(C.TCA_U32_HASH, ht);
  const sel = Buffer.alloc(C.SIZEOF_TC_U32_SEL + keys.length * C.SIZEOF_TC_U32_KEY);
  sel.writeUInt8(terminal ? C.TC_U32_TERMINAL : 0, 0);
  sel.writeUInt8(keys.length, 2);
  if (o.hashkey) {
    sel.writeInt16LE(o.hashkey.at, 10);
    sel.writeUInt32BE(o.hashkey.mask >>> 0, 12);
  }
  keys.forEach((k, i) => {
    const at = C.SIZEOF_TC_U32_SEL + i * C.SIZEOF_TC_U32_KEY;
    sel.writeUInt32BE(k.mask, at);
    sel.writeUInt32BE(k.value, at + 4);
    sel.writeInt32LE(k.off, at + 8);
    sel.writeInt32LE(k.offmask, at + 12);
  });
  w.attr(C.TCA_U32_SEL, sel);
  const flags = (o.skipHw ? C.TCA_CLS_FLAGS_SKIP_HW : 0) | (o.skipSw ? C.TCA_CLS_FLAGS_SKIP_SW : 0);
  if (flags) w.u32(C.TCA_U32_FLAGS, flags);
  w.end();
}

export function decodeU32(options: Buffer | undefined): U32Info {
  const info: U32Info = { kind: "u32", actions: [] };
  if (!options) return info;
  for (const a of parseAttrs(options)) {
    switch (a.type) {
      case C.TCA_U32_CLASSID:
        info.classid = formatHandle(read.u32(a));
        break;
      case C.TCA_U32_HASH:
        info.hash = read.u32(a);
        break;
      case C.TCA_U32_LINK:
        info.link = read.u32(a);
        break;
      case C.TCA_U32_DIVISOR:
        info.divisor = read.u32(a);
        break;
      case C.TCA_U32_INDEV:
        info.indev = read.string(a);
        break;
      case C.TCA_U32_FLAGS:
        info.flags = read.u32(a);
        break;
      case C.TCA_U32_MARK:
        if (a.data.length >= 8) info.mark = { value: a.data.readUInt32LE(0), mask: a.data.readUInt32LE(4) };
        break;
      case C.TCA_U32_ACT:
        info.actions = readActionList(a.data);
        break;
      case C.TCA_U32_SEL: {
        if (a.data.length < C.SIZEOF_TC_U32_SEL) break;
        const n = a.data.readUInt8(2);
        info.terminal = (a.data.readUInt8(0) & C.TC_U32_TERMINAL) !== 0;
        const keys: U32Key[] = [];
        for (let i = 0; i < n; i++) {
          const at = C.SIZEOF_TC_U32_SEL + i * C.SIZEOF_TC_U32_KEY;
          if (at + C.SIZEOF_TC_U32_KEY > a.data.length) break;
          keys.push({
            mask: a.data.readUInt32BE(at),
            value: a.data.readUInt32BE(at + 4),
            off: a.data.readInt32LE(at + 8),
            offmask: a.data.readInt32LE(at + 12),
          });
        }
        info.keys = keys;
        const hmask = a.data.readUInt32BE(12);
        if (hmask !== 0) info.hashkey = { mask: hmask, at: a.data.readInt16LE(10) };
        info.matchAll = keys.length === 1 && keys[0]?.mask === 0;
        break;
      }
    }
  }
  return info;
}

/** tc's get_u32_handle(): "HT:HASH:NODE" in hex ("800::800"), or "0x..." raw. */
export function parseU32Handle(input: Handle, field = "filter.handle"): number {
  if (typeof input === "number") return parseHandle(input, field);
  const s = input.trim();
  if (!s.includes(":")) {
    if (/^0x[0-9a-f]+$/i.test(s)) return parseHandle(Number.parseInt(s, 16), field);
    throw new TcInputError(field, `"${input}" is not a u32 handle (like "800::800" or "::800")`);
  }
  const [ht = "", hash = "", node = "", extra] = s.split(":");
  const hex = (t: string, max: number) => {
    if (t === "") return 0;
    if (!/^[0-9a-f]+$/i.test(t)) return Number.NaN;
    const v = Number.parseInt(t, 16);
    return v < max ? v : Number.NaN;
  };
  const h = hex(ht, 0x1000);
  const b = hex(hash, 0x100);
  const n = hex(node, 0x1000);
  if (extra !== undefined || Number.isNaN(h) || Number.isNaN(b) || Number.isNaN(n))
    throw new TcInputError(field, `"${input}" is not a u32 handle (HT:HASH:NODE in hex, like "800::800")`);
  return ((h << 20) | (b << 12) | n) >>> 0;
}

export function formatU32Handle(h: number): string {
  const ht = h >>> 20;
  const hash = (h >>> 12) & 0xff;
  const node = h & 0xfff;
  if (h === 0) return "none";
  let s = ht ? `${ht.toString(16)}:` : "";
  if (node || hash) {
    if (hash) s += hash.toString(16);
    if (node) s += `:${node.toString(16)}`;
  }
  return s;
}

/**
 * The kernel's dump of a u32 filter's TCA_OPTIONS made fit to create it again: the flags it
 * reports (in_hw / not_in_hw) are state, refused on input; only skip_hw / skip_sw are kept.
 */
export function restoreU32(dumped: Buffer): Buffer {
  const out = Buffer.from(dumped);
  for (let off = 0; off + 4 <= out.length; ) {
    const len = out.readUInt16LE(off);
    if (len < 4) break;
    if ((out.readUInt16LE(off + 2) & 0x3fff) === C.TCA_U32_FLAGS && len >= 8)
      out.writeUInt32LE(
        out.readUInt32LE(off + 4) & (C.TCA_CLS_FLAGS_SKIP_HW | C.TCA_CLS_FLAGS_SKIP_SW),
        off + 4,
      );
    off += (len + 3) & ~3;
  }
  return out;
}

/** The plugin (see kind.ts). */
export const u32Filter = defineFilterKind({
  kind: "u32",
  schema: u32Schema,
  handle: { parse: (input, field) => parseU32Handle(input, field), format: formatU32Handle },
  encode: (w, o, actions, ctx) => encodeU32(w, o, actions, ctx),
  decode: (options) => decodeU32(options),
  restore: restoreU32,
});
