// ICMPv6 (RFC 4443) and its neighbour discovery messages (RFC 4861): router solicitation and
// advertisement, neighbour solicitation and advertisement, redirect, with their options.
import { formatIpv6, formatMac, need, view } from "./addr.js";

export const ND_TYPES = {
  routerSolicitation: 133,
  routerAdvertisement: 134,
  neighborSolicitation: 135,
  neighborAdvertisement: 136,
  redirect: 137,
} as const;

export interface NdPrefix {
  prefix: string;
  prefixLength: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
}

export interface NdOptions {
  sourceLinkLayerAddress?: string;
  targetLinkLayerAddress?: string;
  prefixes: NdPrefix[];
  mtu?: number;
  /** Options not decoded above: type and raw body. */
  other: { type: number; data: Buffer }[];
}

export interface NeighborDiscovery {
  /** Solicitation/advertisement target, or redirect target. */
  target?: string;
  /** Redirect destination. */
  destination?: string;
  /** Neighbour advertisement flags. */
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
  /** Router advertisement fields. */
  curHopLimit?: number;
  managed?: boolean;
  otherConfig?: boolean;
  routerLifetime?: number;
  reachableTime?: number;
  retransTimer?: number;
  options: NdOptions;
}

export interface Icmpv6 {
  type: number;
  code: number;
  checksum: number;
  body: Buffer;
  /** Present for types 133-137. */
  nd?: NeighborDiscovery;
}

export function decodeIcmpv6(buf: Buffer): Icmpv6 {
  need("icmpv6", buf, 4);
  const v = view(buf);
  const type = buf[0] as number;
  const out: Icmpv6 = { type, code: buf[1] as number, checksum: v.getUint16(2), body: buf.subarray(4) };
  if (type >= 133 && type <= 137) out.nd = decodeNd(type, buf);
  return out;
}

function decodeNd(type: number, buf: Buffer): NeighborDiscovery {
  const v = view(buf);
  switch (type) {
    case ND_TYPES.routerSolicitation:
      need("nd router solicitation", buf, 8);
      return { options: decodeOptions(buf.subarray(8)) };
    case ND_TYPES.routerAdvertisement: {
      need("nd router advertisement", buf, 16);
      const flags = buf[5] as number;
      return {
        curHopLimit: buf[4] as number,
        managed: (flags & 0x80) !== 0,
        otherConfig: (flags & 0x40) !== 0,
        routerLifetime: v.getUint16(6),
        reachableTime: v.getUint32(8),
        retransTimer: v.getUint32(12),
        options: decodeOptions(buf.subarray(16)),
      };
    }
    case ND_TYPES.neighborSolicitation:
      need("nd neighbor solicitation", buf, 24);
      return { target: formatIpv6(buf, 8), options: decodeOptions(buf.subarray(24)) };
    case ND_TYPES.neighborAdvertisement: {
      need("nd neighbor advertisement", buf, 24);
      const flags = buf[4] as number;
      return {
        router: (flags & 0x80) !== 0,
        solicited: (flags & 0x40) !== 0,
        override: (flags & 0x20) !== 0,
        target: formatIpv6(buf, 8),
        options: decodeOptions(buf.subarray(24)),
      };
    }
    default:
      need("nd redirect", buf, 40);
      return {
        target: formatIpv6(buf, 8),
        destination: formatIpv6(buf, 24),
        options: decodeOptions(buf.subarray(40)),
      };
  }
}

function decodeOptions(buf: Buffer): NdOptions {
  const out: NdOptions = { prefixes: [], other: [] };
  let off = 0;
  while (off + 2 <= buf.length) {
    const type = buf[off] as number;
    const len = (buf[off + 1] as number) * 8;
    if (len === 0 || off + len > buf.length) break; // malformed: stop, as receivers must
    const body = buf.subarray(off + 2, off + len);
    const v = view(body);
    if ((type === 1 || type === 2) && body.length >= 6) {
      if (type === 1) out.sourceLinkLayerAddress = formatMac(body, 0);
      else out.targetLinkLayerAddress = formatMac(body, 0);
    } else if (type === 3 && body.length >= 30) {
      out.prefixes.push({
        prefixLength: body[0] as number,
        onLink: ((body[1] as number) & 0x80) !== 0,
        autonomous: ((body[1] as number) & 0x40) !== 0,
        validLifetime: v.getUint32(2),
        preferredLifetime: v.getUint32(6),
        prefix: formatIpv6(body, 14),
      });
    } else if (type === 5 && body.length >= 6) {
      out.mtu = v.getUint32(2);
    } else {
      out.other.push({ type, data: body });
    }
    off += len;
  }
  return out;
}
