// Neighbor Discovery messages (RFC 4861 4) the advertiser sends and reads: Router Advertisements
// with their options (source link-layer address, MTU, prefix information, RFC 4191 route
// information, RFC 8106 RDNSS/DNSSL), Neighbor Advertisements, and the options of received
// Router/Neighbor Solicitations. ICMPv6 checksums are filled in by buildIpv6Frame. Pure.
import { macBytes } from "../dhcp/mac.js";
import { parseIpv6, parseIpv6Cidr, prefixOf } from "../dhcp6/ipv6.js";

export const ICMP6 = {
  routerSolicitation: 133,
  routerAdvertisement: 134,
  neighborSolicitation: 135,
  neighborAdvertisement: 136,
} as const;

export const ND_OPTION = {
  sourceLinkLayer: 1,
  targetLinkLayer: 2,
  prefixInformation: 3,
  mtu: 5,
  routeInformation: 24,
  rdnss: 25,
  dnssl: 31,
} as const;

/** The resolved configuration an advert is encoded from (defaults applied). */
export interface AdvertContent {
  routerMac: string;
  managed: boolean;
  other: boolean;
  hopLimit: number;
  defaultRouterLifetimeS: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  prefixes: {
    prefix: string;
    onLink: boolean;
    autonomous: boolean;
    validLifetimeS: number;
    preferredLifetimeS: number;
  }[];
  routes: { prefix: string; preference: "low" | "medium" | "high"; lifetimeS: number }[];
  rdnss: string[];
  dnssl: string[];
  dnsLifetimeS: number;
  mtu?: number;
}

const PREFERENCE_BITS = { high: 0b01, medium: 0b00, low: 0b11 } as const;

/** An ND option: type, length in 8-octet units, body padded with zeros to a multiple of 8. */
function ndOption(type: number, body: Uint8Array): Buffer {
  const length = Math.ceil((body.length + 2) / 8);
  const b = Buffer.alloc(length * 8);
  b[0] = type;
  b[1] = length;
  b.set(body, 2);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** DNS wire format without compression (RFC 8106 5.2). */
function dnsName(name: string): Buffer {
  const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** The ICMPv6 Router Advertisement message (checksum zero). */
export function encodeRouterAdvert(c: AdvertContent): Buffer {
  const head = Buffer.alloc(16);
  head[0] = ICMP6.routerAdvertisement;
  head[4] = c.hopLimit;
  head[5] = (c.managed ? 0x80 : 0) | (c.other ? 0x40 : 0);
  head.writeUInt16BE(c.defaultRouterLifetimeS, 6);
  head.writeUInt32BE(c.reachableTimeMs, 8);
  head.writeUInt32BE(c.retransTimerMs, 12);
  const options: Buffer[] = [ndOption(ND_OPTION.sourceLinkLayer, macBytes(c.routerMac))];
  if (c.mtu !== undefined)
    options.push(ndOption(ND_OPTION.mtu, Buffer.concat([Buffer.alloc(2), u32(c.mtu)])));
  for (const p of c.prefixes) {
    const { address, prefixLength } = parseIpv6Cidr(p.prefix) as { address: Buffer; prefixLength: number };
    options.push(
      ndOption(
        ND_OPTION.prefixInformation,
        Buffer.concat([
          Buffer.from([prefixLength, (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0)]),
          u32(p.validLifetimeS),
          u32(p.preferredLifetimeS),
          Buffer.alloc(4),
          prefixOf(address, prefixLength),
        ]),
      ),
    );
  }
  for (const r of c.routes) {
    const { address, prefixLength } = parseIpv6Cidr(r.prefix) as { address: Buffer; prefixLength: number };
    // RFC 4191 2.3: only as many prefix octets as the length needs (0, 8 or 16).
    const octets = prefixLength === 0 ? 0 : prefixLength <= 64 ? 8 : 16;
    options.push(
      ndOption(
        ND_OPTION.routeInformation,
        Buffer.concat([
          Buffer.from([prefixLength, PREFERENCE_BITS[r.preference] << 3]),
          u32(r.lifetimeS),
          prefixOf(address, prefixLength).subarray(0, octets),
        ]),
      ),
    );
  }
  if (c.rdnss.length > 0) {
    options.push(
      ndOption(
        ND_OPTION.rdnss,
        Buffer.concat([Buffer.alloc(2), u32(c.dnsLifetimeS), ...c.rdnss.map((s) => parseIpv6(s) as Buffer)]),
      ),
    );
  }
  if (c.dnssl.length > 0) {
    options.push(
      ndOption(
        ND_OPTION.dnssl,
        Buffer.concat([Buffer.alloc(2), u32(c.dnsLifetimeS), ...c.dnssl.map(dnsName)]),
      ),
    );
  }
  return Buffer.concat([head, ...options]);
}

/** A solicited Neighbor Advertisement for `target` owned by `mac` (R and O flags; S when solicited). */
export function encodeNeighborAdvert(target: Uint8Array, mac: Uint8Array, solicited: boolean): Buffer {
  const head = Buffer.alloc(24);
  head[0] = ICMP6.neighborAdvertisement;
  head[4] = 0x80 | (solicited ? 0x40 : 0) | 0x20;
  head.set(target.subarray(0, 16), 8);
  return Buffer.concat([head, ndOption(ND_OPTION.targetLinkLayer, mac.subarray(0, 6))]);
}

/** ND options as (type, body) pairs; undefined when one has length 0 or runs past the end. */
export function decodeNdOptions(data: Uint8Array): { type: number; body: Uint8Array }[] | undefined {
  const out: { type: number; body: Uint8Array }[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length) return undefined;
    const length = (data[at + 1] as number) * 8;
    if (length === 0 || at + length > data.length) return undefined;
    out.push({ type: data[at] as number, body: data.subarray(at + 2, at + length) });
    at += length;
  }
  return out;
}
