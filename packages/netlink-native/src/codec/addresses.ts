import { isIPv4, isIPv6 } from "node:net";
import { AF_INET, AF_INET6 } from "./constants.js";

/** Encodes an IPv4 or IPv6 address into its network-order bytes (4 or 16). */
export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (isIPv6(ip)) {
    let text = ip;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4?.[1]) {
      const b = v4[1].split(".").map(Number) as [number, number, number, number];
      text = `${text.slice(0, -v4[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
    }
    const [head = "", tail] = text.split("::") as [string, string | undefined];
    const h = head === "" ? [] : head.split(":");
    const t = tail === undefined || tail === "" ? [] : tail.split(":");
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => {
      out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
    });
    return out;
  }
  throw new TypeError(`not an IP address: ${ip}`);
}

/** Formats 4 or 16 network-order bytes the way iproute2 prints them (see formatIPv6). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length !== 16) return Buffer.from(b).toString("hex");
  return formatIPv6(b);
}

/**
 * The one IPv6 formatter of the project: the text iproute2 prints (glibc's inet_ntop), i.e.
 * RFC 5952 (lower case, the longest run of two or more zero groups as "::", the first on ties),
 * with an IPv4 tail for IPv4-mapped (`::ffff:1.2.3.4`) and IPv4-compatible (`::1.2.3.4`)
 * addresses.
 */
export function formatIPv6(b: Uint8Array): string {
  if (b.length !== 16) throw new TypeError(`an IPv6 address has 16 bytes, not ${b.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // glibc: the last 32 bits as dotted IPv4 when the address starts with six zero groups, or with
  // five and then ffff (a run that covers more than the first six groups does not count).
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export const familyOf = (ip: string): number => (isIPv4(ip) ? AF_INET : AF_INET6);

export interface Cidr {
  address: string;
  prefix: number;
  family: number;
}

/** Parses "10.0.0.1/24" or "2001:db8::1/64"; a bare address gets the full-length prefix. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIPv4(address) ? AF_INET : isIPv6(address) ? AF_INET6 : 0;
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  const max = family === AF_INET ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) throw new TypeError(`prefix length must be 0-${max}: ${text}`);
  return { address, prefix, family };
}

/** MAC "02:00:00:00:00:01" to 6 bytes (also accepts '-' separators). */
export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/[:-]/g, ""), "hex");
}

/** Two lowercase hex digits for each byte value: a MAC is formatted without an array per call. */
const HEX2 = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, "0"));

/** Hardware addresses up to this many bytes (InfiniBand's are 20) are formatted in MAC_TEXT. */
const MAC_TEXT_MAX = 32;
const MAC_TEXT = Buffer.alloc(MAC_TEXT_MAX * 3);
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

export const bytesToMac = (b: Uint8Array): string => macAt(b, 0, b.length);

/** bytesToMac of `length` bytes of `b` from `start`, read in place (no view per address). */
export function macAt(b: Uint8Array, start: number, length: number): string {
  if (length === 0) return "";
  if (length <= MAC_TEXT_MAX) {
    // Written as text into one scratch buffer and read out as one string: no partial strings.
    let o = 0;
    for (let i = 0; i < length; i++) {
      const v = b[start + i] as number;
      if (i > 0) MAC_TEXT[o++] = 0x3a; // ':'
      MAC_TEXT[o++] = HEX_DIGITS[v >> 4] as number;
      MAC_TEXT[o++] = HEX_DIGITS[v & 15] as number;
    }
    return MAC_TEXT.toString("latin1", 0, o);
  }
  let out = "";
  for (let i = 0; i < length; i++)
    out += i === 0 ? HEX2[b[start] as number] : `:${HEX2[b[start + i] as number]}`;
  return out;
}
