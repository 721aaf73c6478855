// IPv6 addresses as text (RFC 4291 2.2, printed per RFC 5952) and as the 16 bytes the wire
// carries, plus the few derived addresses IPv6 neighbour discovery needs. Pure.

/** 16 bytes of `text`, or undefined when it is not an IPv6 address (no zone, no prefix). */
export function parseIpv6(text: string): Buffer | undefined {
  if (typeof text !== "string" || text.length < 2 || text.length > 45 || /[^0-9a-fA-F:.]/.test(text)) {
    return undefined;
  }
  let head = text;
  const words: number[] = [];
  // An embedded IPv4 tail ("::ffff:10.1.2.3") becomes the last two words.
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const quad = text.slice(lastColon + 1).split(".");
    if (quad.length !== 4 || !quad.every((q) => /^(0|[1-9]\d{0,2})$/.test(q) && Number(q) <= 255)) {
      return undefined;
    }
    const [a, b, c, d] = quad.map(Number) as [number, number, number, number];
    head = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const left = parse(halves[0] as string);
  const right = halves.length === 2 ? parse(halves[1] as string) : [];
  if (!left || !right) return undefined;
  if (halves.length === 2) {
    if (left.length + right.length > 7) return undefined;
    words.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  } else {
    if (left.length !== 8) return undefined;
    words.push(...left);
  }
  const out = Buffer.alloc(16);
  words.forEach((w, i) => {
    out.writeUInt16BE(w, i * 2);
  });
  return out;
}

export function isIpv6(text: string): boolean {
  return parseIpv6(text) !== undefined;
}

/** RFC 5952 text: lower case, the longest run (>= 2) of zero words as "::". */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j += 1;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`;
}

/** "2001:db8::1/64" -> address bytes and prefix length. */
export function parseIpv6Cidr(text: string): { address: Buffer; prefixLength: number } | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv6(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!address || !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 128) return undefined;
  return { address, prefixLength: Number(p) };
}

/** The first `prefixLength` bits of `address`, the rest zero. */
export function prefixOf(address: Uint8Array, prefixLength: number): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = (address[i] ?? 0) & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

export function inPrefix(address: Uint8Array, prefix: Uint8Array, prefixLength: number): boolean {
  return prefixOf(address, prefixLength).equals(prefixOf(prefix, prefixLength));
}

export function isLinkLocal(address: Uint8Array): boolean {
  return address[0] === 0xfe && ((address[1] ?? 0) & 0xc0) === 0x80;
}

export function isMulticast(address: Uint8Array): boolean {
  return address[0] === 0xff;
}

export function isUnspecified(address: Uint8Array): boolean {
  return address.every((b) => b === 0);
}

/** fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Buffer {
  const out = Buffer.alloc(16);
  out[0] = 0xfe;
  out[1] = 0x80;
  out[8] = (mac[0] ?? 0) ^ 0x02;
  out[9] = mac[1] ?? 0;
  out[10] = mac[2] ?? 0;
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac[3] ?? 0;
  out[14] = mac[4] ?? 0;
  out[15] = mac[5] ?? 0;
  return out;
}

/** ff02::1:ffXX:XXXX, the group a neighbour solicitation for `address` is sent to. */
export function solicitedNodeAddress(address: Uint8Array): Buffer {
  const out = Buffer.from(parseIpv6("ff02::1:ff00:0") as Buffer);
  out[13] = address[13] ?? 0;
  out[14] = address[14] ?? 0;
  out[15] = address[15] ?? 0;
  return out;
}

/** 33:33 + the low 32 bits of a multicast group (RFC 2464 7). */
export function multicastMac(group: Uint8Array): Buffer {
  return Buffer.from([0x33, 0x33, group[12] ?? 0, group[13] ?? 0, group[14] ?? 0, group[15] ?? 0]);
}

export const ALL_NODES = parseIpv6("ff02::1") as Buffer;
export const ALL_ROUTERS = parseIpv6("ff02::2") as Buffer;
export const ALL_DHCP_AGENTS = parseIpv6("ff02::1:2") as Buffer;
