// Masquerade mode's nftables table: one `inet` table (its comment our mark) holding
//   postrouting (nat, srcnat): traffic from the VM's subnet leaving by a CNI interface is
//     masqueraded to that interface's address (IPv4, and NAT66 for IPv6);
//   prerouting (nat, dstnat): forwarded ports arriving on a CNI interface go to the VM;
//   output (nat, dstnat): the pod's own processes reaching a forwarded port on the pod's address
//     go to the VM too;
//   forward (filter): DHCPv4/DHCPv6 never cross between the VM's bridge and a CNI interface.
// Sent as one NETLINK_NETFILTER batch (all or nothing); no `nft` process.
import {
  chainAdd,
  masquerade,
  matchAddress,
  matchDestinationPorts,
  matchInterfaceName,
  matchL4Proto,
  type NftExpression,
  type NftRequest,
  natTo,
  ruleAdd,
  tableAdd,
  verdict,
} from "@vmnet/netlink-native";
import type { MasqueradePlan } from "./config.js";

export const MASQUERADE_TABLE = "vmnet_masq";

const L4 = { tcp: 6, udp: 17 } as const;
const DHCP_PORTS: [number, number][] = [
  [67, 68],
  [546, 547],
];

export interface NatTableInput {
  table: string;
  mark: string;
  /** The VM's bridge in the pod. */
  bridge: string;
  /** The CNI interfaces traffic leaves and arrives by. */
  links: readonly string[];
  /** The pod's own addresses (no prefix), for forwarded ports reached from inside the pod. */
  podAddresses: readonly string[];
  plan: MasqueradePlan;
}

export function masqueradeBatch(input: NatTableInput): NftRequest[] {
  const { table, mark, plan } = input;
  const family = "inet" as const;
  const rule = (chain: string, expressions: NftExpression[]) =>
    ruleAdd({ family, table, chain, expressions, comment: mark });
  const subnets = [plan.ipv4, ...(plan.ipv6 ? [plan.ipv6] : [])];
  const requests: NftRequest[] = [
    tableAdd({ family, name: table, comment: mark, exclusive: true }),
    chainAdd({
      family,
      table,
      name: "postrouting",
      hook: { hook: "postrouting", priority: 100, type: "nat", policy: "accept" },
    }),
    chainAdd({
      family,
      table,
      name: "prerouting",
      hook: { hook: "prerouting", priority: -100, type: "nat", policy: "accept" },
    }),
    chainAdd({
      family,
      table,
      name: "output",
      hook: { hook: "output", priority: -100, type: "nat", policy: "accept" },
    }),
    chainAdd({ family, table, name: "forward", hook: { hook: "forward", priority: 0, policy: "accept" } }),
  ];
  for (const link of input.links) {
    for (const s of subnets)
      requests.push(
        rule("postrouting", [
          ...matchInterfaceName("oifname", link),
          ...matchAddress("saddr", s.subnet),
          masquerade(),
        ]),
      );
    for (const f of plan.forwardPorts)
      for (const s of subnets)
        requests.push(
          rule("prerouting", [
            ...matchInterfaceName("iifname", link),
            ...matchL4Proto(L4[f.protocol]),
            ...matchDestinationPorts(f.port),
            ...natTo("dnat", s.vm.split("/")[0] as string, f.vmPort),
          ]),
        );
    for (const [from, to] of [
      ["iifname", "oifname"],
      ["oifname", "iifname"],
    ] as const)
      for (const [lo, hi] of DHCP_PORTS)
        requests.push(
          rule("forward", [
            ...matchInterfaceName(from, input.bridge),
            ...matchInterfaceName(to, link),
            ...matchL4Proto(17),
            ...matchDestinationPorts(lo, hi),
            verdict("drop"),
          ]),
        );
  }
  for (const address of input.podAddresses) {
    const s = subnets.find((x) => x.vm.includes(":") === address.includes(":"));
    if (!s) continue;
    for (const f of plan.forwardPorts)
      requests.push(
        rule("output", [
          ...matchAddress("daddr", address),
          ...matchL4Proto(L4[f.protocol]),
          ...matchDestinationPorts(f.port),
          ...natTo("dnat", s.vm.split("/")[0] as string, f.vmPort),
        ]),
      );
  }
  return requests;
}
