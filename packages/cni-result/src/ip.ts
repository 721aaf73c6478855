// Address, CIDR and MAC validation. CNI documents carry addresses as text; a result is only useful
// if every one of them really is an address, so they are parsed here, not pattern-matched.
// The accepted forms follow Go's net package (what libcni and the plugins use): dotted-quad IPv4
// without leading zeros, RFC 4291 IPv6 text (with an optional dotted IPv4 tail) without zones,
// and "address/prefix" CIDRs whose address may have host bits set ("10.1.0.5/16").

export type IpFamily = 4 | 6;

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export interface ParsedIp {
  family: IpFamily;
  bytes: Uint8Array;
}

export interface ParsedCidr {
  ip: ParsedIp;
  prefix: number;
}

// Go rejects IPv4 octets and prefix lengths with leading zeros (they once meant octal).
const DECIMAL = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!DECIMAL.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses colon-separated hex groups; the last one may be dotted IPv4 (two groups' worth). */
function parseGroups(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (const [i, part] of parts.entries()) {
    if (allowIPv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!HEX_GROUP.test(part)) return undefined;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

export function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(text, true);
    if (all?.length !== 8) return undefined;
    groups = all;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? "", false);
    const tail = parseGroups(halves[1] ?? "", true);
    // "::" stands for at least one zero group.
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    return undefined;
  }
  const bytes = new Uint8Array(16);
  for (const [i, group] of groups.entries()) {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  }
  return bytes;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined when it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(":")) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes && { family: 4, bytes };
}

/** Parses "address/prefix"; undefined when it is not a CIDR. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !DECIMAL.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > ip.bytes.length * 8) return undefined;
  return { ip, prefix };
}

export function isIpAddress(text: string): boolean {
  return parseIp(text) !== undefined;
}

export function isCidr(text: string): boolean {
  return parseCidr(text) !== undefined;
}

/** The family of an address or a CIDR, or undefined when the text is neither. */
export function ipFamily(addressOrCidr: string): IpFamily | undefined {
  return (parseCidr(addressOrCidr)?.ip ?? parseIp(addressOrCidr))?.family;
}

/** Why a string is not an address, in a few words; undefined when it is one. */
export function explainIp(text: string): string | undefined {
  if (text.includes("/")) return `not an IP address: ${quote(text)} has a /prefix`;
  if (text.includes("%")) return `not an IP address: ${quote(text)} has a zone`;
  return isIpAddress(text) ? undefined : `not an IP address: ${quote(text)}`;
}

/** Why a string is not a CIDR, in a few words; undefined when it is one. */
export function explainCidr(text: string): string | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return `not a CIDR: ${quote(text)} has no /prefix`;
  const ip = parseIp(text.slice(0, slash));
  if (!ip) return `not a CIDR: ${quote(text)} has no valid IP address`;
  const prefix = text.slice(slash + 1);
  const max = ip.bytes.length * 8;
  if (!DECIMAL.test(prefix) || Number(prefix) > max) {
    return `not a CIDR: ${quote(text)} needs a prefix length of 0-${max}`;
  }
  return undefined;
}

// Hardware addresses as Go's net.ParseMAC reads them with ':' or '-': EUI-48, EUI-64 and the
// 20-octet IP-over-InfiniBand address (which SR-IOV InfiniBand plugins report).
const MAC = /^[0-9a-fA-F]{2}(?:([:-])[0-9a-fA-F]{2})(?:\1[0-9a-fA-F]{2})*$/;
const MAC_LENGTHS = new Set([6, 8, 20]);

export function isMacAddress(text: string): boolean {
  return MAC.test(text) && MAC_LENGTHS.has((text.length + 1) / 3);
}

export function explainMac(text: string): string | undefined {
  return isMacAddress(text) ? undefined : `not a MAC address: ${quote(text)}`;
}

/** Formats an address the way Go prints it: dotted IPv4, RFC 5952 IPv6 (lowercase, "::"). */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0));
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

/** The canonical text of an address or of a CIDR's address ("FD00:0::1/64" -> "fd00::1"). */
export function canonicalIp(addressOrCidr: string): string | undefined {
  const ip = parseCidr(addressOrCidr)?.ip ?? parseIp(addressOrCidr);
  return ip && formatIp(ip);
}

/** True when both texts name the same address (prefixes, if any, are ignored). */
export function sameIp(a: string, b: string): boolean {
  const left = canonicalIp(a);
  return left !== undefined && left === canonicalIp(b);
}

/** True when `address` (an address or a CIDR's address) lies inside the network `cidr`. */
export function cidrContains(cidr: string, address: string): boolean {
  const network = parseCidr(cidr);
  const ip = parseCidr(address)?.ip ?? parseIp(address);
  if (!network || !ip || network.ip.family !== ip.family) return false;
  let bits = network.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((network.ip.bytes[i] ?? 0) & mask) !== ((ip.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** True for "0.0.0.0/0" and "::/0" (any spelling). */
export function isDefaultRoute(dst: string): boolean {
  return parseCidr(dst)?.prefix === 0;
}

/** JSON-quotes a value for an error message, cut short so the message stays one line. */
export function quote(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(shown);
}
