// The BOOTP/DHCP message (RFC 2131 section 2): a fixed 236-byte header, the magic cookie, then
// options. Pure: bytes in, a typed message out, and back. Decoding never trusts a length it has
// not checked; every failure is a DhcpDecodeError with a countable reason.
import {
  DhcpDecodeError,
  type DhcpOptions,
  encodeOptionArea,
  joinOptions,
  OPTION,
  readOptionArea,
} from "./options.js";

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const MAGIC_COOKIE = 0x63825363;
/** Header up to and including the cookie. */
export const HEADER_LENGTH = 240;
/** RFC 1542: BOOTP relays and old clients expect at least this many bytes. */
export const MIN_MESSAGE_LENGTH = 300;
/** The flags bit asking for a broadcast reply. */
export const BROADCAST_FLAG = 0x8000;

export const MESSAGE_TYPE = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeName = Lowercase<keyof typeof MESSAGE_TYPE>;
const TYPE_NAMES = new Map<number, MessageTypeName>(
  Object.entries(MESSAGE_TYPE).map(([k, v]) => [v, k.toLowerCase() as MessageTypeName]),
);
export function messageTypeName(type: number): MessageTypeName | undefined {
  return TYPE_NAMES.get(type);
}

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The 16-byte client hardware address field (the MAC is its first `hlen` bytes). */
  chaddr: Buffer;
  sname: Buffer;
  file: Buffer;
  messageType: number;
  options: DhcpOptions;
}

/** Decodes a DHCP message (the UDP payload). Throws DhcpDecodeError. */
export function decodeDhcpMessage(data: Uint8Array): DhcpMessage {
  if (data.length < HEADER_LENGTH) throw new DhcpDecodeError("truncated", `${data.length} bytes`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (b.readUInt32BE(236) !== MAGIC_COOKIE) throw new DhcpDecodeError("bad-cookie");
  const parts = new Map<number, Buffer[]>();
  readOptionArea(b.subarray(HEADER_LENGTH), parts, "options");
  const sname = Buffer.from(b.subarray(44, 108));
  const file = Buffer.from(b.subarray(108, 236));
  const overload = parts.get(OPTION.OVERLOAD)?.[0];
  if (overload !== undefined) {
    if (overload.length !== 1 || overload[0] === undefined || overload[0] < 1 || overload[0] > 3) {
      throw new DhcpDecodeError("bad-option", "option overload must be 1, 2 or 3");
    }
    // RFC 2131 4.1: options, then `file`, then `sname`.
    if (overload[0] & 1) readOptionArea(file, parts, "file");
    if (overload[0] & 2) readOptionArea(sname, parts, "sname");
  }
  const options = joinOptions(parts);
  const type = options.get(OPTION.MESSAGE_TYPE);
  if (type === undefined) throw new DhcpDecodeError("no-message-type");
  if (type.length !== 1) throw new DhcpDecodeError("bad-message-type", `length ${type.length}`);
  return {
    op: b[0] as number,
    htype: b[1] as number,
    hlen: b[2] as number,
    hops: b[3] as number,
    xid: b.readUInt32BE(4),
    secs: b.readUInt16BE(8),
    flags: b.readUInt16BE(10),
    ciaddr: b.readUInt32BE(12),
    yiaddr: b.readUInt32BE(16),
    siaddr: b.readUInt32BE(20),
    giaddr: b.readUInt32BE(24),
    chaddr: Buffer.from(b.subarray(28, 44)),
    sname,
    file,
    messageType: type[0] as number,
    options,
  };
}

/** What encodeDhcpMessage needs: the header fields and the options in the order to write them. */
export interface DhcpMessageSpec {
  op: number;
  xid: number;
  secs?: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  chaddr: Uint8Array;
  htype?: number;
  hlen?: number;
  /** Options after message type (53), which is always written first. */
  messageType: number;
  options: readonly (readonly [number, Buffer])[];
}

export function encodeDhcpMessage(spec: DhcpMessageSpec): Buffer {
  const area = encodeOptionArea([[OPTION.MESSAGE_TYPE, Buffer.from([spec.messageType])], ...spec.options]);
  const b = Buffer.alloc(Math.max(MIN_MESSAGE_LENGTH, HEADER_LENGTH + area.length));
  b[0] = spec.op;
  b[1] = spec.htype ?? 1;
  b[2] = spec.hlen ?? 6;
  b[3] = 0;
  b.writeUInt32BE(spec.xid >>> 0, 4);
  b.writeUInt16BE(spec.secs ?? 0, 8);
  b.writeUInt16BE(spec.flags, 10);
  b.writeUInt32BE(spec.ciaddr >>> 0, 12);
  b.writeUInt32BE(spec.yiaddr >>> 0, 16);
  b.writeUInt32BE(spec.siaddr >>> 0, 20);
  b.writeUInt32BE(spec.giaddr >>> 0, 24);
  b.set(spec.chaddr.subarray(0, 16), 28);
  b.writeUInt32BE(MAGIC_COOKIE, 236);
  area.copy(b, HEADER_LENGTH);
  return b;
}
