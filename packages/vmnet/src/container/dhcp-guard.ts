// Keeping DHCP off the CNI interface, so the pod network never sees the VM's DHCP and the VM never
// sees the pod network's.
//
// Bridge mode: one nftables table in the bridge family (sent over NETLINK_NETFILTER as one batch,
// no process per rule), a forward-hook chain dropping UDP to ports 67-68 (DHCPv4) and 546-547
// (DHCPv6) that enters or leaves through a CNI interface, router advertisements coming in from it
// and router solicitations going out to it (the VM's router is our advertiser). Our DHCP server is not affected: it reads
// the TAP with a packet socket, which sees frames before the bridge does.
//
// tc-filter mode: the TAP and the CNI interface are joined by mirred redirects on tc ingress, which
// runs before netfilter's netdev ingress hook and never reaches the bridge family, so nftables
// cannot see those frames. Instead, u32 filters matching DHCP sit at a higher priority than the
// match-all redirect on both links. They carry a class id (ffff:1) and no action: the class makes
// the match terminal (without it u32 goes on to the next filter, the redirect), and no action means
// TC_ACT_OK, so the frame goes on into the pod's own stack, where nothing listens, and is never
// redirected across in either direction. Our DHCP server still sees the guest's frames: its packet
// socket (ETH_P_ALL) gets them before tc ingress.
import {
  chainAdd,
  matchDestinationPorts,
  matchIcmpv6Type,
  matchInterfaceName,
  matchL4Proto,
  type NftRequest,
  ruleAdd,
  tableAdd,
  verdict,
} from "@vmnet/netlink-native";
import type { FilterSpec } from "@vmnet/tc-qos";

export const NFT_TABLE = "vmnet_csn";
const DHCP_PORTS: [number, number][] = [
  [67, 68],
  [546, 547],
];

/**
 * Built batches by table, mark and links. The requests are immutable (the commit copies their
 * bytes), and a process sets up pod after pod with the same mark and, mostly, the same `eth0`:
 * encoding the dozen rules again each time was a millisecond of every setup.
 */
const batches = new Map<string, readonly NftRequest[]>();
const BATCHES_KEPT = 64;

/** The batch that creates the bridge-family table guarding `links`. */
export function dhcpBlockBatch(table: string, mark: string, links: readonly string[]): readonly NftRequest[] {
  const key = `${table}\0${mark}\0${links.join("\0")}`;
  let batch = batches.get(key);
  if (!batch) {
    batch = buildDhcpBlockBatch(table, mark, links);
    if (batches.size >= BATCHES_KEPT) batches.delete(batches.keys().next().value as string);
    batches.set(key, batch);
  }
  return batch;
}

function buildDhcpBlockBatch(table: string, mark: string, links: readonly string[]): NftRequest[] {
  const requests: NftRequest[] = [
    tableAdd({ family: "bridge", name: table, comment: mark, exclusive: true }),
    chainAdd({
      family: "bridge",
      table,
      name: "forward",
      hook: { hook: "forward", priority: -200, policy: "accept" },
    }),
  ];
  for (const link of links) {
    for (const direction of ["iifname", "oifname"] as const) {
      for (const [lo, hi] of DHCP_PORTS) {
        requests.push(
          ruleAdd({
            family: "bridge",
            table,
            chain: "forward",
            expressions: [
              ...matchInterfaceName(direction, link),
              ...matchL4Proto(17),
              ...matchDestinationPorts(lo, hi),
              verdict("drop"),
            ],
            comment: mark,
          }),
        );
      }
    }
    for (const [direction, type] of [
      ["iifname", 134],
      ["oifname", 133],
    ] as const)
      requests.push(
        ruleAdd({
          family: "bridge",
          table,
          chain: "forward",
          expressions: [
            ...matchInterfaceName(direction, link),
            ...matchIcmpv6Type(type, "bridge"),
            verdict("drop"),
          ],
          comment: mark,
        }),
      );
  }
  return requests;
}

/** Priorities on tc ingress: the DHCP pass filters come before the redirect. */
export const DHCP_PASS_PRIO_V4 = 1;
export const DHCP_PASS_PRIO_V6 = 2;
export const CSN_REDIRECT_PRIO = 3;

/** u32 filters that match DHCP (v4 ports 67/68, v6 546/547) and let it stop here. */
export function dhcpPassFilters(parent: string): FilterSpec[] {
  const v4 = [67, 68].map(
    (port): FilterSpec => ({
      kind: "u32",
      parent,
      protocol: "ip",
      prio: DHCP_PASS_PRIO_V4,
      classid: "ffff:1",
      match: [
        { match: "ip.protocol", value: 17 },
        { match: "ip.dport", value: port },
      ],
    }),
  );
  const v6 = [546, 547].map(
    (port): FilterSpec => ({
      kind: "u32",
      parent,
      protocol: "ipv6",
      prio: DHCP_PASS_PRIO_V6,
      classid: "ffff:1",
      match: [
        { match: "ip6.protocol", value: 17 },
        { match: "ip6.dport", value: port },
      ],
    }),
  );
  // Router solicitations and advertisements stay on their side too. Neighbour solicitations are
  // still redirected: the advertiser's packet socket sees the VM's before tc ingress does, and
  // stopping them would cut the VM off from its on-link neighbours.
  const nd = [133, 134].map(
    (type): FilterSpec => ({
      kind: "u32",
      parent,
      protocol: "ipv6",
      prio: DHCP_PASS_PRIO_V6,
      classid: "ffff:1",
      match: [
        { match: "ip6.protocol", value: 58 },
        { match: "ip6.icmp_type", value: type },
      ],
    }),
  );
  return [...v4, ...v6, ...nd];
}

/** Kata's match-all redirect to `target`, at our priority (after the DHCP pass filters). */
export function redirectTo(parent: string, target: number): FilterSpec {
  return {
    kind: "u32",
    parent,
    protocol: "all",
    prio: CSN_REDIRECT_PRIO,
    matchAll: true,
    actions: [{ kind: "mirred", direction: "egress", action: "redirect", dev: target }],
  };
}
