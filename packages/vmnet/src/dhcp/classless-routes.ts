// Option 121, classless static routes (RFC 3442): for each route, the prefix length, only the
// significant octets of the destination, then the router. A router of 0.0.0.0 means the
// destination is on the link (no next hop), which is how a /32 address reaches its gateway.
import type { Ipv4 } from "./ipv4.js";
import { networkOf } from "./ipv4.js";

export interface ClasslessRoute {
  destination: Ipv4;
  prefixLength: number;
  /** 0 = on-link. */
  router: Ipv4;
}

export function encodeClasslessRoutes(routes: readonly ClasslessRoute[]): Buffer {
  const out: number[] = [];
  for (const r of routes) {
    const significant = Math.ceil(r.prefixLength / 8);
    const dst = networkOf(r.destination, r.prefixLength);
    out.push(r.prefixLength);
    for (let i = 0; i < significant; i++) out.push((dst >>> (24 - 8 * i)) & 255);
    out.push(r.router >>> 24, (r.router >>> 16) & 255, (r.router >>> 8) & 255, r.router & 255);
  }
  return Buffer.from(out);
}

/** What a client reads from option 121; undefined when the data is malformed. */
export function decodeClasslessRoutes(data: Uint8Array): ClasslessRoute[] | undefined {
  const routes: ClasslessRoute[] = [];
  let at = 0;
  while (at < data.length) {
    const prefixLength = data[at] as number;
    if (prefixLength > 32) return undefined;
    const significant = Math.ceil(prefixLength / 8);
    if (at + 1 + significant + 4 > data.length) return undefined;
    let destination = 0;
    for (let i = 0; i < 4; i++)
      destination = destination * 256 + (i < significant ? (data[at + 1 + i] as number) : 0);
    const r = at + 1 + significant;
    const router =
      ((data[r] as number) * 2 ** 24 +
        ((data[r + 1] as number) << 16) +
        ((data[r + 2] as number) << 8) +
        (data[r + 3] as number)) >>>
      0;
    routes.push({ destination: networkOf(destination >>> 0, prefixLength), prefixLength, router });
    at = r + 4;
  }
  return routes;
}
