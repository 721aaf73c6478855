// DHCPv6 messages (RFC 8415 section 8): a message type, a 3-byte transaction id and options as
// (code, length, data) TLVs, some of which (IA_NA, IA Address) nest options of their own. The
// decoder is strict (an option running past its container is an error, never a guess) and the
// encoder writes exactly what it is given. Pure.

export const MSG = {
  solicit: 1,
  advertise: 2,
  request: 3,
  confirm: 4,
  renew: 5,
  rebind: 6,
  reply: 7,
  release: 8,
  decline: 9,
  reconfigure: 10,
  informationRequest: 11,
  relayForward: 12,
  relayReply: 13,
} as const;

export const OPT = {
  clientId: 1,
  serverId: 2,
  iaNa: 3,
  iaTa: 4,
  iaAddr: 5,
  oro: 6,
  preference: 7,
  elapsedTime: 8,
  statusCode: 13,
  rapidCommit: 14,
  dnsServers: 23,
  domainList: 24,
  iaPd: 25,
  informationRefreshTime: 32,
} as const;

export const STATUS = {
  success: 0,
  unspecFail: 1,
  noAddrsAvail: 2,
  noBinding: 3,
  notOnLink: 4,
  useMulticast: 5,
  noPrefixAvail: 6,
} as const;

export type Dhcp6DecodeReason = "truncated" | "bad-option" | "bad-ia";

export class Dhcp6DecodeError extends Error {
  override readonly name = "Dhcp6DecodeError";
  constructor(
    readonly reason: Dhcp6DecodeReason,
    message: string,
  ) {
    super(message);
  }
}

export interface Dhcp6Option {
  code: number;
  data: Buffer;
}

export interface Dhcp6Message {
  type: number;
  transactionId: number;
  options: Dhcp6Option[];
}

/** The TLVs of `data`; throws when one runs past the end. */
export function decodeOptions(data: Buffer): Dhcp6Option[] {
  const options: Dhcp6Option[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) throw new Dhcp6DecodeError("bad-option", `option header cut at byte ${at}`);
    const code = data.readUInt16BE(at);
    const length = data.readUInt16BE(at + 2);
    if (at + 4 + length > data.length) {
      throw new Dhcp6DecodeError("bad-option", `option ${code} of ${length} bytes runs past its container`);
    }
    options.push({ code, data: data.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return options;
}

export function decodeDhcp6Message(data: Buffer): Dhcp6Message {
  if (data.length < 4) throw new Dhcp6DecodeError("truncated", `${data.length} bytes is no DHCPv6 message`);
  return {
    type: data[0] as number,
    transactionId: data.readUIntBE(1, 3),
    options: decodeOptions(data.subarray(4)),
  };
}

export function option(code: number, ...parts: Uint8Array[]): Buffer {
  const data = Buffer.concat(parts);
  const b = Buffer.alloc(4);
  b.writeUInt16BE(code, 0);
  b.writeUInt16BE(data.length, 2);
  return Buffer.concat([b, data]);
}

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

export function encodeDhcp6Message(type: number, transactionId: number, options: readonly Buffer[]): Buffer {
  const head = Buffer.from([
    type,
    (transactionId >> 16) & 0xff,
    (transactionId >> 8) & 0xff,
    transactionId & 0xff,
  ]);
  return Buffer.concat([head, ...options]);
}

export function statusOption(code: number, message: string): Buffer {
  return option(OPT.statusCode, u16(code), Buffer.from(message, "utf8"));
}

/** An IA_NA as a client sent it: its IAID and the addresses it holds. */
export interface IaNa {
  iaid: number;
  t1: number;
  t2: number;
  addresses: Buffer[];
}

export function decodeIaNa(data: Buffer): IaNa {
  if (data.length < 12) throw new Dhcp6DecodeError("bad-ia", `IA_NA of ${data.length} bytes`);
  const addresses: Buffer[] = [];
  for (const o of decodeOptions(data.subarray(12))) {
    if (o.code !== OPT.iaAddr) continue;
    if (o.data.length < 24) throw new Dhcp6DecodeError("bad-ia", `IA Address of ${o.data.length} bytes`);
    decodeOptions(o.data.subarray(24));
    addresses.push(o.data.subarray(0, 16));
  }
  return { iaid: data.readUInt32BE(0), t1: data.readUInt32BE(4), t2: data.readUInt32BE(8), addresses };
}

export function iaNaOption(iaid: number, t1: number, t2: number, inner: readonly Buffer[]): Buffer {
  return option(OPT.iaNa, u32(iaid), u32(t1), u32(t2), ...inner);
}

export function iaAddrOption(address: Uint8Array, preferred: number, valid: number): Buffer {
  return option(OPT.iaAddr, address, u32(preferred), u32(valid));
}
