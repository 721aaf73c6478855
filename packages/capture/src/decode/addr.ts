// Address formatting shared by the decoders.

/** "02:00:00:00:00:01" from 6 bytes at `offset`. */
export function formatMac(buf: Uint8Array, offset = 0): string {
  let s = "";
  for (let i = 0; i < 6; i++) {
    const b = buf[offset + i] as number;
    s += (i ? ":" : "") + (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

/** "10.0.0.1" from 4 bytes at `offset`. */
export function formatIpv4(buf: Uint8Array, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** RFC 5952 text ("2001:db8::1") from 16 bytes at `offset`. */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++)
    words.push(((buf[offset + 2 * i] as number) << 8) | (buf[offset + 2 * i + 1] as number));
  // IPv4-mapped (::ffff:a.b.c.d) keeps the dotted tail.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIpv4(buf, offset + 12)}`;
  }
  // The longest run of two or more zero words becomes "::" (the first, if tied).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/**
 * The one error the decoders (and the capture file reader) throw: bytes that are not what the
 * layer expects. `layer` names the header ("ipv4", "pcapng", ...). Anything else thrown is a bug.
 */
export class DecodeError extends Error {
  override readonly name: string = "DecodeError";
  constructor(
    readonly layer: string,
    readonly reason: string,
  ) {
    super(`${layer}: ${reason}`);
  }
}

/** Thrown by a decoder when a header is shorter than its fixed part. */
export class TruncatedError extends DecodeError {
  override readonly name: string = "TruncatedError";
  constructor(
    layer: string,
    readonly need: number,
    readonly have: number,
  ) {
    super(layer, `need ${need} bytes, have ${have}`);
  }
}

export function need(layer: string, buf: Uint8Array, bytes: number): void {
  if (buf.length < bytes) throw new TruncatedError(layer, bytes, buf.length);
}

export function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
