// The public shapes of the DHCP server: what one lease is, where it is served, and what the server
// reports. Kept free of zod so the published declarations read like documentation.
import type { NetnsRef } from "@vmnet/netlink-native";

/** One IPv4 identity to serve, exactly as the CNI result gave it. */
export interface DhcpLease {
  /** The hardware address the guest uses (the CNI interface's original MAC), "aa:bb:cc:dd:ee:ff". */
  clientMac: string;
  /** "10.1.2.3" */
  address: string;
  /** 0..32 (32 for ptp/Calico, whose gateway is on-link outside any subnet). */
  prefixLength: number;
  /** The CNI gateway; next hop of every route that names none. May lie outside the subnet. */
  gateway?: string;
  /**
   * CNI routes (`dst` a CIDR), the default route included when the result has one. A route
   * without `gw` goes via `gateway` (CNI's rule); `gw: "0.0.0.0"` means on-link.
   */
  routes: { dst: string; gw?: string }[];
  nameservers: string[];
  search: string[];
  domain?: string;
  mtu?: number;
  hostname?: string;
  /** Seconds (default 86400); T1 and T2 are 1/2 and 7/8 of it (RFC 2131 4.4.5). */
  leaseTimeS: number;
}

/** One lease served on one device of the server's netns. */
export interface DhcpBinding {
  /** Interface name in the netns the server listens and replies on, e.g. "tap0". */
  listenOn: string;
  lease: DhcpLease;
  /** Server identifier (option 54) and source address of replies. Default 169.254.254.2. */
  serverId?: string;
}

export interface DhcpServerOptions {
  /** Namespace holding the `listenOn` devices: a name under /run/netns, a path or a pid. Default: the caller's. */
  netns?: NetnsRef;
  bindings: DhcpBinding[];
  /** Called for every exchange and every drop; an exception thrown here is counted, never propagated. */
  onEvent?: (event: DhcpEvent) => void;
}

/** Why a received frame was dropped (malformed, hostile or not answerable). */
export type DhcpDropReason =
  // framing
  | "short-frame"
  | "bad-ip-header"
  | "bad-ip-checksum"
  | "bad-udp-length"
  | "fragmented"
  // the DHCP message
  | "truncated"
  | "not-request"
  | "not-ethernet-chaddr"
  | "bad-cookie"
  | "bad-option"
  | "no-message-type"
  | "bad-message-type"
  | "relayed"
  // semantics
  | "unknown-client"
  | "request-without-address"
  | "other-server"
  | "not-our-address"
  | "unexpected-type"
  | "rate-limited"
  | "internal-error";

/** Client states a DHCPREQUEST is sent from (RFC 2131 4.3.2), told apart by its fields. */
export type RequestState = "selecting" | "init-reboot" | "renewing" | "rebinding";

export type DhcpEvent =
  | {
      type: "offer" | "ack";
      listenOn: string;
      clientMac: string;
      address: string;
      /** For an ACK: the client's state (an INFORM's ACK says "inform"). */
      state?: RequestState | "inform";
    }
  | {
      type: "nak";
      listenOn: string;
      clientMac: string;
      state: RequestState;
      requested: string;
      reason: string;
    }
  | { type: "release" | "decline"; listenOn: string; clientMac: string; address: string }
  | { type: "drop"; listenOn: string; reason: DhcpDropReason; clientMac?: string; detail?: string }
  | { type: "error"; listenOn: string; error: Error };

/** Counters for one binding, or summed over the server. */
export interface DhcpCounters {
  /** Messages received, by DHCP message type. */
  received: Record<"discover" | "request" | "decline" | "release" | "inform", number>;
  /** Replies sent, by type. */
  sent: Record<"offer" | "ack" | "nak", number>;
  /** Drops by reason (only reasons that occurred are present). */
  dropped: Partial<Record<DhcpDropReason, number>>;
  droppedTotal: number;
  /** Replies the kernel refused to transmit. */
  sendErrors: number;
}

export interface DhcpStats {
  total: DhcpCounters & {
    /** Frames read from the devices. */
    frames: number;
    /** Frames that were not DHCP requests to the server port (the guest's other traffic). */
    ignored: number;
    /** Receive errors reported by the socket, and exceptions thrown by onEvent. */
    receiveErrors: number;
    eventHandlerErrors: number;
  };
  /** One entry per binding, in the order given. Drops that match no binding count only in `total`. */
  bindings: (DhcpCounters & {
    listenOn: string;
    clientMac: string;
    /** Whether the guest holds the lease as far as the server knows (ACKed, not released). */
    bound: boolean;
    lastAckAt?: Date;
    declines: number;
  })[];
}
