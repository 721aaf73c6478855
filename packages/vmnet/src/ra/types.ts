// The public shapes of the router advertiser.
import type { NetnsRef } from "@vmnet/netlink-native";

/** A Prefix Information option (RFC 4861 4.6.2). */
export interface RaPrefix {
  /** "2001:db8:1::/64" */
  prefix: string;
  /** L flag: the prefix is on-link (default true). */
  onLink?: boolean;
  /** A flag: hosts may form addresses in it by SLAAC (default false: DHCPv6 hands out the address). */
  autonomous?: boolean;
  validLifetimeS?: number;
  preferredLifetimeS?: number;
}

/** A Route Information option (RFC 4191): a more specific route through the advertising router. */
export interface RaRoute {
  /** "2001:db8:99::/48" */
  prefix: string;
  preference?: "low" | "medium" | "high";
  lifetimeS?: number;
}

export interface RouterAdvertConfig {
  /**
   * The MAC frames to the router go to: the CNI's real IPv6 gateway's MAC (bridge and tc-filter
   * modes) or the bridge's own (masquerade). Sent as the RA's source link-layer address and, when
   * the advertiser answers neighbour solicitations, as their target link-layer address. Required
   * when the advert names a router (defaultRouterLifetimeS > 0, or routes); an advert that only
   * gives flags, prefixes, DNS and MTU may leave it out (the listening device's MAC is sent).
   */
  routerMac?: string;
  /** The router's fe80:: address the guest will route through. Default: EUI-64 of `routerMac`. */
  sourceLinkLocal?: string;
  /**
   * Answer Neighbor Solicitations for `sourceLinkLocal` with `routerMac` (default true). Set false
   * when the address really belongs to a device that answers itself (masquerade: the bridge).
   */
  answerNeighborSolicitations?: boolean;
  /** M flag: addresses by DHCPv6 (default true). */
  managed?: boolean;
  /** O flag: other configuration (DNS) by DHCPv6 (default true). */
  other?: boolean;
  /** Cur Hop Limit for the guest (default 64; 0 = unspecified). */
  hopLimit?: number;
  /** Router Lifetime: > 0 makes the router the guest's default router (default 1800; max 9000). */
  defaultRouterLifetimeS?: number;
  reachableTimeMs?: number;
  retransTimerMs?: number;
  prefixes?: RaPrefix[];
  routes?: RaRoute[];
  /** Recursive DNS servers (RFC 8106 RDNSS). */
  rdnss?: string[];
  /** DNS search list (RFC 8106 DNSSL). */
  dnssl?: string[];
  /** Lifetime of RDNSS/DNSSL (default 3 x maxIntervalS). */
  dnsLifetimeS?: number;
  /** Link MTU option. */
  mtu?: number;
  /** Unsolicited RA interval bounds (RFC 4861 6.2.1; defaults 200 and 600 s). */
  minIntervalS?: number;
  maxIntervalS?: number;
}

export interface RouterAdvertBinding {
  /** Interface in the netns to listen and advertise on (one binding per device). */
  listenOn: string;
  config: RouterAdvertConfig;
}

export interface RouterAdvertiserOptions {
  netns?: NetnsRef;
  bindings: RouterAdvertBinding[];
  onEvent?: (event: RaEvent) => void;
}

export type RaDropReason =
  | "short-frame"
  | "bad-ip-header"
  | "bad-extension-header"
  | "fragmented"
  | "bad-checksum"
  | "bad-hop-limit"
  | "bad-code"
  | "truncated"
  | "bad-option"
  | "unspecified-source-with-lladdr"
  | "multicast-target"
  | "rate-limited"
  | "internal-error";

export type RaEvent =
  | { type: "advert"; listenOn: string; solicited: boolean; to: string }
  | { type: "neighbor-advert"; listenOn: string; target: string; to: string }
  | { type: "drop"; listenOn: string; reason: RaDropReason; detail?: string }
  | { type: "error"; listenOn: string; error: Error };

export interface RaCounters {
  received: { routerSolicitation: number; neighborSolicitation: number };
  sent: { solicitedAdvert: number; unsolicitedAdvert: number; neighborAdvert: number };
  /** Neighbor Solicitations for other targets (the guest resolving its other neighbours). */
  notOurTarget: number;
  dropped: Partial<Record<RaDropReason, number>>;
  droppedTotal: number;
  sendErrors: number;
}

export interface RaStats {
  total: RaCounters & { frames: number; ignored: number; receiveErrors: number; eventHandlerErrors: number };
  bindings: (RaCounters & { listenOn: string; lastAdvertAt?: Date })[];
}
