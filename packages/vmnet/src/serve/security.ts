// Who may read what. The token is compared in constant time; it may come as
// "Authorization: Bearer <token>" or as ?token= (EventSource and download links cannot set headers).
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (expected === undefined || given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

export function tokenOf(authorization: string | undefined, query: string | undefined): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? query;
}

/** Host headers a loopback-only server answers (a page on another site cannot rebind to it). */
export function loopbackHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const names = ["127.0.0.1", "localhost", "[::1]"];
  return names.some((n) => host === n || host === `${n}:${port}`);
}
