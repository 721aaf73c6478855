import { macAt } from "./addresses.js";
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER } from "./constants.js";
import { NetlinkDecodeError } from "./decode-error.js";
import { align4 } from "./writer.js";

const TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/**
 * One attribute as it came off the wire. Unknown types are kept, never dropped. The payload stays
 * in the message's buffer: `data` makes a view only when asked, and `read.*` reads in place, so a
 * reply with dozens of attributes does not leave dozens of Buffer objects to the garbage
 * collector.
 */
export class RawAttr {
  constructor(
    readonly type: number,
    readonly nestedFlag: boolean,
    /** The buffer holding the payload, and where in it the payload lies. */
    readonly source: Buffer,
    readonly start: number,
    readonly length: number,
  ) {}

  /** The payload (a view into the message, not a copy). */
  get data(): Buffer {
    return this.source.subarray(this.start, this.start + this.length);
  }
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
    out.push(new RawAttr(rawType & TYPE_MASK, (rawType & NLA_F_NESTED) !== 0, buf, off + 4, len - 4));
    off += align4(len);
  }
  if (off < buf.length && buf.length - off < 4 && buf.subarray(off).some((b) => b !== 0)) {
    throw new NetlinkDecodeError("trailing bytes after the last attribute", base + off);
  }
  return out;
}

/**
 * Walks a run of attributes without making an object per attribute: `next()` moves to the next
 * one and sets `type`, `nestedFlag`, `start` and `length` (payload offsets in `source`). Decoders
 * of large replies (a link has some fifty attributes) use it and keep `raw()` objects only for
 * what they store. Validates exactly as parseAttrs does (same errors, same offsets).
 */
export class AttrCursor {
  type = 0;
  nestedFlag = false;
  start = 0;
  length = 0;
  private off = 0;

  constructor(
    readonly source: Buffer,
    private readonly base = 0,
  ) {}

  next(): boolean {
    const buf = this.source;
    const off = this.off;
    if (off + 4 > buf.length) {
      if (off < buf.length && buf.length - off < 4 && buf.subarray(off).some((b) => b !== 0)) {
        throw new NetlinkDecodeError("trailing bytes after the last attribute", this.base + off);
      }
      return false;
    }
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < 4)
      throw new NetlinkDecodeError(`attribute length ${len} is below the header size`, this.base + off);
    if (off + len > buf.length) {
      throw new NetlinkDecodeError(
        `attribute of ${len} bytes overruns its ${buf.length - off}`,
        this.base + off,
      );
    }
    this.type = rawType & TYPE_MASK;
    this.nestedFlag = (rawType & NLA_F_NESTED) !== 0;
    this.start = off + 4;
    this.length = len - 4;
    this.off = off + align4(len);
    return true;
  }

  /** The current attribute as a RawAttr (for keeping it). */
  raw(): RawAttr {
    return new RawAttr(this.type, this.nestedFlag, this.source, this.start, this.length);
  }

  /** The current attribute's payload formatted as a MAC (bytesToMac), read in place. */
  mac(): string {
    return macAt(this.source, this.start, this.length);
  }

  /** The current attribute's payload as a view. */
  data(): Buffer {
    return this.source.subarray(this.start, this.start + this.length);
  }

  u8(): number {
    return this.source.readUInt8(this.need(1));
  }

  u32(): number {
    return this.source.readUInt32LE(this.need(4));
  }

  s32(): number {
    return this.source.readInt32LE(this.need(4));
  }

  /** A string up to its NUL (or the payload's end). */
  string(): string {
    const end = this.start + this.length;
    const nul = this.source.indexOf(0, this.start);
    return this.source.toString("utf8", this.start, nul === -1 || nul > end ? end : nul);
  }

  private need(n: number): number {
    if (this.length < n)
      throw new NetlinkDecodeError(`attribute ${this.type} has ${this.length} bytes, needs ${n}`, 0);
    return this.start;
  }
}

/** Typed reads of attribute payloads; each checks the size so hostile input cannot overrun. */
export const read = {
  u8(a: RawAttr): number {
    return a.source.readUInt8(at(a, 1));
  },
  u16(a: RawAttr): number {
    return a.source.readUInt16LE(at(a, 2));
  },
  be16(a: RawAttr): number {
    return a.source.readUInt16BE(at(a, 2));
  },
  u32(a: RawAttr): number {
    return a.source.readUInt32LE(at(a, 4));
  },
  be32(a: RawAttr): number {
    return a.source.readUInt32BE(at(a, 4));
  },
  s32(a: RawAttr): number {
    return a.source.readInt32LE(at(a, 4));
  },
  u64(a: RawAttr): bigint {
    return a.source.readBigUInt64LE(at(a, 8));
  },
  string(a: RawAttr): string {
    const end = a.start + a.length;
    const nul = a.source.indexOf(0, a.start);
    return a.source.toString("utf8", a.start, nul === -1 || nul > end ? end : nul);
  },
  nested(a: RawAttr): RawAttr[] {
    return parseAttrs(a.data);
  },
};

/** Where a value of `n` bytes starts, after checking the attribute holds that many. */
function at(a: RawAttr, n: number): number {
  if (a.length < n) throw new NetlinkDecodeError(`attribute ${a.type} has ${a.length} bytes, needs ${n}`, 0);
  return a.start;
}

/** Index of attributes by type (last one wins, as the kernel's nla_parse does). */
export function attrMap(attrs: RawAttr[]): Map<number, RawAttr> {
  const m = new Map<number, RawAttr>();
  for (const a of attrs) m.set(a.type, a);
  return m;
}
