// The names a route spec takes for its protocol and type, with the kernel's numbers (rtnetlink.h:
// RTPROT_*, RTN_*). One table for the schema (routes.ts) and the hand check (plain-route-spec.ts).

export const ROUTE_PROTOCOLS = { unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, dhcp: 16 } as const;
export type RouteProtocolName = keyof typeof ROUTE_PROTOCOLS;

export const ROUTE_TYPES = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
} as const;
export type RouteTypeName = keyof typeof ROUTE_TYPES;

/** The names of a table, as the tuple z.enum takes. */
export function namesOf<T extends Record<string, number>>(
  table: T,
): [keyof T & string, ...(keyof T & string)[]] {
  return Object.keys(table) as [keyof T & string, ...(keyof T & string)[]];
}

/** Whether `v` is one of the table's names (own keys only: "toString" is not a protocol). */
export function isNameIn(table: Record<string, number>, v: unknown): boolean {
  return typeof v === "string" && Object.hasOwn(table, v);
}
