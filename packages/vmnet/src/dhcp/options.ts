// DHCP options (RFC 2132) as code -> bytes, the TLV layer between the BOOTP header and the typed
// values. Decoding follows RFC 3396 (an option split into several instances is one option, its
// parts concatenated in order) and RFC 2131's option overload (option 52: more options in the
// `file` and/or `sname` fields). Encoding splits values longer than 255 bytes the same way.

export const OPTION = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTERS: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

/** Options of one message: code -> value (instances of one code already joined). */
export type DhcpOptions = Map<number, Buffer>;

/** Why a message was refused by the decoder; each reason is counted by the server. */
export class DhcpDecodeError extends Error {
  override readonly name = "DhcpDecodeError";
  constructor(
    readonly reason: DecodeFailure,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
  }
}

export type DecodeFailure =
  | "truncated"
  | "not-request"
  | "not-ethernet-chaddr"
  | "bad-cookie"
  | "bad-option"
  | "no-message-type"
  | "bad-message-type";

/**
 * Reads TLVs from `area` into `into` (joining repeats). Stops at END; a field that is all
 * padding after END is fine. A length running past the area is malformed.
 */
export function readOptionArea(area: Uint8Array, into: Map<number, Buffer[]>, where: string): void {
  let at = 0;
  while (at < area.length) {
    const code = area[at] as number;
    if (code === OPTION.END) return;
    if (code === OPTION.PAD) {
      at += 1;
      continue;
    }
    const len = area[at + 1];
    if (len === undefined || at + 2 + len > area.length) {
      throw new DhcpDecodeError("bad-option", `option ${code} in ${where} runs past the end`);
    }
    const value = Buffer.from(area.subarray(at + 2, at + 2 + len));
    const list = into.get(code);
    if (list) list.push(value);
    else into.set(code, [value]);
    at += 2 + len;
  }
  // RFC 2131 asks for an END option; clients that omit it are common enough to accept.
}

export function joinOptions(parts: Map<number, Buffer[]>): DhcpOptions {
  const out: DhcpOptions = new Map();
  for (const [code, list] of parts)
    out.set(code, list.length === 1 ? (list[0] as Buffer) : Buffer.concat(list));
  return out;
}

/** TLV bytes for the options in order, long values split into 255-byte instances, then END. */
export function encodeOptionArea(options: readonly (readonly [number, Buffer])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of options) parts.push(encodeOption(code, value));
  parts.push(Buffer.from([OPTION.END]));
  return Buffer.concat(parts);
}

/** One option's TLV bytes (several instances when longer than 255 bytes, RFC 3396). */
export function encodeOption(code: number, value: Buffer): Buffer {
  if (value.length === 0) return Buffer.from([code, 0]);
  const parts: Buffer[] = [];
  for (let at = 0; at < value.length; at += 255) {
    const chunk = value.subarray(at, Math.min(at + 255, value.length));
    parts.push(Buffer.from([code, chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Bytes `encodeOption` produces for a value of this length. */
export function encodedOptionLength(valueLength: number): number {
  return valueLength === 0 ? 2 : valueLength + 2 * Math.ceil(valueLength / 255);
}

export const u8 = (v: number): Buffer => Buffer.from([v & 255]);
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
export function ipv4List(values: readonly number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, 4 * i);
  });
  return b;
}
