// IPv4 addresses as unsigned 32-bit numbers: the DHCP codec and the reply logic compare, mask and
// write addresses constantly, and numbers make that exact and cheap. Text is parsed strictly
// (dotted quad, no leading zeros) because a lease must never carry an address that another
// parser would read differently.
import { isIPv4 } from "node:net";

export type Ipv4 = number;

/** "10.1.2.3" -> 0x0a010203; undefined for anything that is not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): Ipv4 | undefined {
  if (!isIPv4(text)) return undefined;
  let value = 0;
  for (const part of text.split(".")) {
    if (part.length > 1 && part.startsWith("0")) return undefined;
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

export function formatIpv4(value: Ipv4): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The netmask of a prefix length: 24 -> 255.255.255.0, 0 -> 0.0.0.0. */
export function prefixMask(prefixLength: number): Ipv4 {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function networkOf(address: Ipv4, prefixLength: number): Ipv4 {
  return (address & prefixMask(prefixLength)) >>> 0;
}

export function broadcastOf(address: Ipv4, prefixLength: number): Ipv4 {
  return (address | ~prefixMask(prefixLength)) >>> 0;
}

export function inSubnet(candidate: Ipv4, address: Ipv4, prefixLength: number): boolean {
  return networkOf(candidate, prefixLength) === networkOf(address, prefixLength);
}

/** "10.0.0.0/8" -> {network, prefixLength}; host bits are cleared. Undefined when not IPv4 CIDR. */
export function parseIpv4Cidr(text: string): { network: Ipv4; prefixLength: number } | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > 32) return undefined;
  return { network: networkOf(address, prefixLength), prefixLength };
}

export const IPV4_ANY: Ipv4 = 0;
export const IPV4_BROADCAST: Ipv4 = 0xffffffff;
