// OVSDB's JSON-RPC puts JSON texts back to back on the stream with no delimiter (RFC 7047 §4),
// so framing means finding where each top-level object or array ends. The scan works on bytes:
// every structural character is ASCII, so a multi-byte UTF-8 character split across two chunks
// can never be mistaken for one, and each complete value is decoded only once.

import { OvsError } from "../errors.js";

/** Thrown for bytes that cannot start or continue a JSON-RPC message. */
export class JsonStreamError extends OvsError {
  override name = "JsonStreamError";
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Splits a byte stream into the JSON values it carries, back to back. */
export class JsonStreamParser {
  /** Bytes of the value being read that arrived in earlier chunks (kept as a list: no re-copying). */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(
    /** Upper bound on one value, so a peer that never closes a brace cannot exhaust memory. */
    private readonly maxValueBytes = 256 * 1024 * 1024,
  ) {}

  /** Feeds bytes; returns every value completed by them, in order. */
  push(chunk: Buffer): unknown[] {
    const values: unknown[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (this.depth === 0) {
        if (isWhitespace(byte)) continue;
        if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET) {
          throw new JsonStreamError(
            `expected "{" or "[" at the start of a JSON-RPC message, got byte 0x${byte.toString(16)}`,
          );
        }
        start = i;
        this.depth = 1;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          values.push(this.complete(chunk.subarray(start, i + 1)));
        }
      }
    }
    if (this.depth > 0) {
      // Copy: the socket may reuse the chunk's memory.
      const rest = Buffer.from(chunk.subarray(start));
      this.parts.push(rest);
      this.partBytes += rest.length;
      if (this.partBytes > this.maxValueBytes) {
        throw new JsonStreamError(`a JSON value exceeds ${this.maxValueBytes} bytes`);
      }
    }
    return values;
  }

  private complete(tail: Buffer): unknown {
    let bytes = tail;
    if (this.partBytes > 0) {
      bytes = Buffer.concat([...this.parts, tail], this.partBytes + tail.length);
      this.parts = [];
      this.partBytes = 0;
    }
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch (error) {
      throw new JsonStreamError(`malformed JSON value: ${(error as Error).message}`);
    }
  }

  /** True when bytes of an unfinished value are buffered. */
  get hasPartial(): boolean {
    return this.depth > 0;
  }
}
