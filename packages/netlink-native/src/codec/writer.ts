import { NLA_F_NESTED } from "./constants.js";

const NLA_HDRLEN = 4;

/** Rounds up to the 4-byte boundary netlink aligns every header and attribute to. */
export const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Builds one netlink message body: fixed headers, then attributes (type-length-value, 4-byte
 * aligned, nestable). Grows its buffer as needed; `finish()` returns exactly the bytes written.
 */
export class AttrWriter {
  private buf: Buffer;
  private len = 0;
  private readonly open: number[] = [];

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const start = this.len;
    const need = start + n;
    if (need > this.buf.length) {
      const next = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.len = need;
    return start;
  }

  /** Raw bytes (a fixed header such as ifinfomsg); padded to 4 bytes. */
  bytes(data: Uint8Array): this {
    const at = this.reserve(align4(data.length));
    this.buf.set(data, at);
    return this;
  }

  u8At(offset: number, v: number): this {
    this.buf.writeUInt8(v, offset);
    return this;
  }

  attr(type: number, data: Uint8Array): this {
    const at = this.reserve(align4(NLA_HDRLEN + data.length));
    this.buf.writeUInt16LE(NLA_HDRLEN + data.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(data, at + NLA_HDRLEN);
    return this;
  }

  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v & 0xff));
  }

  u16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.attr(type, b);
  }

  /** A 16-bit value in network byte order (ports, VLAN protocols). */
  be16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.attr(type, b);
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }

  be32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.attr(type, b);
  }

  s32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.attr(type, b);
  }

  u64(type: number, v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.attr(type, b);
  }

  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING and NLA_STRING policies accept. */
  string(type: number, s: string): this {
    const raw = Buffer.from(s, "utf8");
    const b = Buffer.alloc(raw.length + 1);
    raw.copy(b);
    return this.attr(type, b);
  }

  flag(type: number): this {
    return this.attr(type, new Uint8Array(0));
  }

  /** Opens a nested attribute; `nestedFlag` sets NLA_F_NESTED as newer iproute2 does for some. */
  begin(type: number, nestedFlag = false): this {
    const at = this.reserve(NLA_HDRLEN);
    this.buf.writeUInt16LE(nestedFlag ? type | NLA_F_NESTED : type, at + 2);
    this.open.push(at);
    return this;
  }

  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error("AttrWriter.end() without begin()");
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  nested(type: number, fill: (w: this) => void, nestedFlag = false): this {
    this.begin(type, nestedFlag);
    fill(this);
    return this.end();
  }

  finish(): Buffer {
    if (this.open.length > 0) throw new Error("AttrWriter.finish() with an unclosed nested attribute");
    return this.buf.subarray(0, this.len);
  }
}
