// The public shapes of the DHCPv6 server. Kept free of zod so the declarations read like docs.
import type { NetnsRef } from "@vmnet/netlink-native";

/** One IPv6 identity to serve (IA_NA), exactly as the CNI result gave it. */
export interface Dhcp6Lease {
  /** The guest's MAC ("aa:bb:cc:dd:ee:ff"): the guest is recognised by its frames' source MAC. */
  clientMac: string;
  /** "2001:db8:1::10" */
  address: string;
  /** The prefix the address is on (used to answer Confirm; the RA announces it on-link). */
  prefixLength: number;
  /** IPv6 DNS servers (option 23). */
  nameservers: string[];
  /** Domain search list (option 24). */
  search: string[];
  /** IA Address lifetimes; T1 and T2 are 0.5 and 0.8 of the preferred lifetime. */
  preferredLifetimeS: number;
  validLifetimeS: number;
}

export interface Dhcp6Binding {
  /** Interface in the netns the server listens and replies on (a TAP, a bridge, a veth). */
  listenOn: string;
  lease: Dhcp6Lease;
  /** Link-local source of replies; default the fe80:: EUI-64 address of `listenOn`'s MAC. */
  serverAddress?: string;
}

export interface Dhcp6ServerOptions {
  /** Namespace holding the `listenOn` devices (name under /run/netns, path or pid). Default: the caller's. */
  netns?: NetnsRef;
  bindings: Dhcp6Binding[];
  /**
   * The server DUID as hex (2-130 bytes). Give the same one on every start for the same network
   * (`stableDuid(seed)` makes one from e.g. the netns id) so clients keep talking to "their"
   * server across restarts. Default: DUID-LL of the first `listenOn` device's MAC.
   */
  duid?: string;
  /** Called for every exchange and drop; an exception thrown here is counted, never propagated. */
  onEvent?: (event: Dhcp6Event) => void;
}

/** Client messages the server answers or notes. */
export type Dhcp6MessageName =
  | "solicit"
  | "request"
  | "confirm"
  | "renew"
  | "rebind"
  | "release"
  | "decline"
  | "information-request";

export type Dhcp6DropReason =
  // framing
  | "short-frame"
  | "bad-ip-header"
  | "bad-extension-header"
  | "fragmented"
  | "bad-udp-length"
  | "not-multicast"
  | "bad-source"
  // the message
  | "truncated"
  | "bad-option"
  | "bad-ia"
  | "relayed"
  | "not-client-message"
  // semantics
  | "unknown-client"
  | "no-client-id"
  | "missing-server-id"
  | "unexpected-server-id"
  | "other-server"
  | "nothing-to-confirm"
  | "rate-limited"
  | "internal-error";

export type Dhcp6Event =
  | {
      type: "advertise" | "reply";
      listenOn: string;
      clientMac: string;
      /** The client message answered. */
      to: Dhcp6MessageName;
      /** The address the reply binds (absent for Confirm, Information-request, Release, Decline). */
      address?: string;
      rapidCommit?: boolean;
      /** For a Confirm: whether the client's addresses were on-link. */
      confirmed?: boolean;
    }
  | { type: "release" | "decline"; listenOn: string; clientMac: string; addresses: string[] }
  | { type: "drop"; listenOn: string; reason: Dhcp6DropReason; clientMac?: string; detail?: string }
  | { type: "error"; listenOn: string; error: Error };

export interface Dhcp6Counters {
  received: Record<Dhcp6MessageName, number>;
  sent: Record<"advertise" | "reply", number>;
  dropped: Partial<Record<Dhcp6DropReason, number>>;
  droppedTotal: number;
  sendErrors: number;
}

export interface Dhcp6Stats {
  total: Dhcp6Counters & {
    frames: number;
    /** Frames that were not DHCPv6 client messages to port 547 (the guest's other traffic). */
    ignored: number;
    receiveErrors: number;
    eventHandlerErrors: number;
  };
  bindings: (Dhcp6Counters & {
    listenOn: string;
    clientMac: string;
    /** Whether the guest holds the address as far as the server knows (replied, not released). */
    bound: boolean;
    lastReplyAt?: Date;
    declines: number;
  })[];
}
