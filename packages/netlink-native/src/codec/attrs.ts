import { NLA_F_NESTED, NLA_F_NET_BYTEORDER } from "./constants.js";
import { NetlinkDecodeError } from "./decode-error.js";
import { align4 } from "./writer.js";

const TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** One attribute as it came off the wire. Unknown types are kept, never dropped. */
export interface RawAttr {
  type: number;
  nestedFlag: boolean;
  data: Buffer;
}

/** Splits a run of attributes. Throws only NetlinkDecodeError (`base` is for error offsets). */
export function parseAttrs(buf: Buffer, base = 0): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < 4) throw new NetlinkDecodeError(`attribute length ${len} is below the header size`, base + off);
    if (off + len > buf.length) {
      throw new NetlinkDecodeError(`attribute of ${len} bytes overruns its ${buf.length - off}`, base + off);
    }
    out.push({
      type: rawType & TYPE_MASK,
      nestedFlag: (rawType & NLA_F_NESTED) !== 0,
      data: buf.subarray(off + 4, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.length - off < 4 && buf.subarray(off).some((b) => b !== 0)) {
    throw new NetlinkDecodeError("trailing bytes after the last attribute", base + off);
  }
  return out;
}

/** Typed reads of attribute payloads; each checks the size so hostile input cannot overrun. */
export const read = {
  u8(a: RawAttr): number {
    need(a, 1);
    return a.data.readUInt8(0);
  },
  u16(a: RawAttr): number {
    need(a, 2);
    return a.data.readUInt16LE(0);
  },
  be16(a: RawAttr): number {
    need(a, 2);
    return a.data.readUInt16BE(0);
  },
  u32(a: RawAttr): number {
    need(a, 4);
    return a.data.readUInt32LE(0);
  },
  be32(a: RawAttr): number {
    need(a, 4);
    return a.data.readUInt32BE(0);
  },
  s32(a: RawAttr): number {
    need(a, 4);
    return a.data.readInt32LE(0);
  },
  u64(a: RawAttr): bigint {
    need(a, 8);
    return a.data.readBigUInt64LE(0);
  },
  string(a: RawAttr): string {
    const nul = a.data.indexOf(0);
    return a.data.toString("utf8", 0, nul === -1 ? a.data.length : nul);
  },
  nested(a: RawAttr): RawAttr[] {
    return parseAttrs(a.data);
  },
};

function need(a: RawAttr, n: number): void {
  if (a.data.length < n) {
    throw new NetlinkDecodeError(`attribute ${a.type} has ${a.data.length} bytes, needs ${n}`, 0);
  }
}

/** Index of attributes by type (last one wins, as the kernel's nla_parse does). */
export function attrMap(attrs: RawAttr[]): Map<number, RawAttr> {
  const m = new Map<number, RawAttr>();
  for (const a of attrs) m.set(a.type, a);
  return m;
}
