import { ipToBytes } from "./addresses.js";
import { NLA_F_NESTED } from "./constants.js";

const NLA_HDRLEN = 4;

/** Rounds up to the 4-byte boundary netlink aligns every header and attribute to. */
export const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Work buffers of finished writers, reused by the next ones: every request is built in one, so a
 * thousand requests do not allocate (and leave to the garbage collector) a thousand of them.
 * A few are kept, for writers that are open at the same time.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 8;
const SPARE_MAX_BYTES = 64 << 10;
const EMPTY = Buffer.alloc(0);

/**
 * The value of a strict dotted-quad IPv4 text ("10.0.0.1": four decimal parts 0-255, no leading
 * zeros, as node:net's isIPv4 accepts), or -1 for anything else. Reads the characters in place.
 */
function dottedQuad(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final "." closes the last part
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++parts > 4) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else return -1;
  }
  return parts === 4 ? value : -1;
}

/** Bodies up to this size are copied by a loop: Buffer#copy makes a view of its source per call. */
const COPY_BY_LOOP = 256;

/** The first `n` bytes of `from` into `to`. */
function copyBytes(from: Buffer, to: Buffer, n: number): void {
  if (n > COPY_BY_LOOP) {
    from.copy(to, 0, 0, n);
    return;
  }
  for (let i = 0; i < n; i++) to[i] = from[i] as number;
}

/**
 * Builds one netlink message body: fixed headers, then attributes (type-length-value, 4-byte
 * aligned, nestable). Grows its buffer as needed; `finish()` returns exactly the bytes written,
 * as a copy of its own (small ones share Node's buffer pool), and hands the work buffer on.
 */
export class AttrWriter {
  private buf: Buffer;
  private len = 0;
  private readonly open: number[] = [];
  /** What finish() returned: the bytes to start from if the writer is written to again. */
  private finished: Buffer | undefined;

  constructor(initial = 128) {
    const reused = spare.pop();
    this.buf = reused && reused.length >= initial ? reused : Buffer.allocUnsafe(Math.max(initial, 512));
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    if (this.finished) {
      // Written to after finish(): start again from what it returned.
      const again = Buffer.allocUnsafe(Math.max(512, this.finished.length * 2));
      this.finished.copy(again);
      this.buf = again;
      this.finished = undefined;
    }
    const start = this.len;
    const need = start + n;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    // Work buffers are reused: what is reserved starts zeroed (padding, fixed headers).
    this.buf.fill(0, start, need);
    this.len = need;
    return start;
  }

  /** Raw bytes (a fixed header such as ifinfomsg); padded to 4 bytes. */
  bytes(data: Uint8Array): this {
    const at = this.reserve(align4(data.length));
    this.buf.set(data, at);
    return this;
  }

  /**
   * Reserves a fixed header of `size` bytes (zeroed, padded) and returns where it starts in
   * `target`: written in place by the caller, with no closure per header.
   */
  reserveFixed(size: number): number {
    return this.reserve(align4(size));
  }

  /** The buffer being written; valid until the next write (which may grow it). */
  get target(): Buffer {
    return this.buf;
  }

  /**
   * An IP address attribute (4 or 16 bytes, network order). Dotted IPv4 text is written in place;
   * anything else goes through ipToBytes, which also rejects what is not an address.
   */
  ip(type: number, text: string): this {
    const v4 = dottedQuad(text);
    if (v4 < 0) return this.attr(type, ipToBytes(text));
    const at = this.header(type, 4);
    this.buf.writeUInt32BE(v4, at);
    return this;
  }

  /** A fixed header of `size` bytes (zeroed, padded) filled in place by `fill`. */
  fixed(size: number, fill: (buf: Buffer, at: number) => void): this {
    const at = this.reserve(align4(size));
    fill(this.buf, at);
    return this;
  }

  /** Reserves an attribute header plus payload (padded) and returns where the payload goes. */
  private header(type: number, payload: number): number {
    const at = this.reserve(align4(NLA_HDRLEN + payload));
    this.buf.writeUInt16LE(NLA_HDRLEN + payload, at);
    this.buf.writeUInt16LE(type, at + 2);
    return at + NLA_HDRLEN;
  }

  // Values are written in place: no temporary buffer per attribute (this is on the hot path of
  // every request).
  attr(type: number, data: Uint8Array): this {
    const at = this.header(type, data.length);
    this.buf.set(data, at);
    return this;
  }

  u8(type: number, v: number): this {
    const at = this.header(type, 1);
    this.buf.writeUInt8(v & 0xff, at);
    return this;
  }

  u16(type: number, v: number): this {
    const at = this.header(type, 2);
    this.buf.writeUInt16LE(v, at);
    return this;
  }

  /** A 16-bit value in network byte order (ports, VLAN protocols). */
  be16(type: number, v: number): this {
    const at = this.header(type, 2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(type: number, v: number): this {
    const at = this.header(type, 4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  be32(type: number, v: number): this {
    const at = this.header(type, 4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }

  s32(type: number, v: number): this {
    const at = this.header(type, 4);
    this.buf.writeInt32LE(v, at);
    return this;
  }

  u64(type: number, v: bigint | number): this {
    const at = this.header(type, 8);
    this.buf.writeBigUInt64LE(BigInt(v), at);
    return this;
  }

  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING and NLA_STRING policies accept. */
  string(type: number, s: string): this {
    const n = Buffer.byteLength(s, "utf8");
    const at = this.header(type, n + 1);
    this.buf.write(s, at, n, "utf8");
    this.buf[at + n] = 0;
    return this;
  }

  /** Raw bytes with no terminator (IFLA_INFO_KIND, IFLA_IFALIAS). */
  text(type: number, s: string): this {
    const n = Buffer.byteLength(s, "utf8");
    const at = this.header(type, n);
    this.buf.write(s, at, n, "utf8");
    return this;
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

  /** Ends a nested attribute, or takes it out again when nothing was written inside it. */
  endOrDrop(): this {
    const at = this.open[this.open.length - 1];
    if (at !== undefined && this.len === at + NLA_HDRLEN) {
      this.open.pop();
      this.len = at;
      return this;
    }
    return this.end();
  }

  nested(type: number, fill: (w: this) => void, nestedFlag = false): this {
    this.begin(type, nestedFlag);
    fill(this);
    return this.end();
  }

  finish(): Buffer {
    if (this.open.length > 0) throw new Error("AttrWriter.finish() with an unclosed nested attribute");
    if (this.finished) return this.finished;
    const out = Buffer.allocUnsafe(this.len);
    copyBytes(this.buf, out, this.len);
    if (spare.length < SPARE_MAX && this.buf.length <= SPARE_MAX_BYTES) spare.push(this.buf);
    this.buf = EMPTY;
    this.finished = out;
    return out;
  }
}
