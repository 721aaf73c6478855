// NAT, address, conntrack and ICMPv6 matches against nft's own requests, byte for byte.
// test/fixtures/nft/record-nft-nat.sh recorded what `nft` (1.0.6) sends for each command (strace;
// seq/pid zeroed); nft's generation look-ups (NFT_MSG_GETGEN) are left out of the comparison.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  chainAdd,
  decodeRule,
  encodeBatch,
  masquerade,
  matchAddress,
  matchCtState,
  matchDestinationPorts,
  matchIcmpv6Type,
  matchInterfaceName,
  matchL4Proto,
  type NftExpression,
  type NftRequest,
  natTo,
  ruleAdd,
  tableAdd,
  tableDelete,
  verdict,
} from "../src/nft/index.js";

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/nft/nft-nat-requests.json", import.meta.url), "utf8"),
) as { command: string; messages: string[] }[];

const MARK = "vmnet:1 owner=vmnet pid=1@2 role=csn";
const GETGEN = 0x0a10;
const T = "vmnet4";
const rule = (chain: string, expressions: NftExpression[], comment?: string): NftRequest =>
  ruleAdd({ family: "inet", table: T, chain, expressions, ...(comment !== undefined && { comment }) });
const nat = (hook: string, priority: number) => ({
  hook,
  priority,
  type: "nat" as const,
  policy: "accept" as const,
});
const port = (proto: number, p: number) => [...matchL4Proto(proto), ...matchDestinationPorts(p)];

const table: [string, NftRequest][] = [
  [
    `nft add table inet vmnet5 '{ comment "${MARK}" ; }'`,
    tableAdd({ family: "inet", name: "vmnet5", comment: MARK }),
  ],
  [
    "nft add chain inet vmnet4 post2 '{ type nat hook postrouting priority 100 ; policy accept ; }'",
    chainAdd({ family: "inet", table: T, name: "post2", hook: nat("postrouting", 100) }),
  ],
  [
    "nft add chain inet vmnet4 pre2 '{ type nat hook prerouting priority -100 ; policy accept ; }'",
    chainAdd({ family: "inet", table: T, name: "pre2", hook: nat("prerouting", -100) }),
  ],
  [
    "nft add chain inet vmnet4 out2 '{ type nat hook output priority -100 ; policy accept ; }'",
    chainAdd({ family: "inet", table: T, name: "out2", hook: nat("output", -100) }),
  ],
  [
    "nft add rule inet vmnet4 post oifname eth0 ip saddr 10.0.2.0/24 masquerade",
    rule("post", [
      ...matchInterfaceName("oifname", "eth0"),
      ...matchAddress("saddr", "10.0.2.0/24"),
      masquerade(),
    ]),
  ],
  [
    `nft add rule inet vmnet4 post oifname eth0 ip saddr 10.0.2.0/23 masquerade comment '"${MARK}"'`,
    rule(
      "post",
      [...matchInterfaceName("oifname", "eth0"), ...matchAddress("saddr", "10.0.2.0/23"), masquerade()],
      MARK,
    ),
  ],
  [
    "nft add rule inet vmnet4 post oifname eth0 ip6 saddr fd10:0:2::/120 masquerade",
    rule("post", [
      ...matchInterfaceName("oifname", "eth0"),
      ...matchAddress("saddr", "fd10:0:2::/120"),
      masquerade(),
    ]),
  ],
  [
    "nft add rule inet vmnet4 post oifname eth0 ip6 saddr fd10:0:2::/121 masquerade",
    rule("post", [
      ...matchInterfaceName("oifname", "eth0"),
      ...matchAddress("saddr", "fd10:0:2::/121"),
      masquerade(),
    ]),
  ],
  [
    "nft add rule inet vmnet4 pre iifname eth0 tcp dport 8080 dnat ip to 10.0.2.2:80",
    rule("pre", [
      ...matchInterfaceName("iifname", "eth0"),
      ...port(6, 8080),
      ...natTo("dnat", "10.0.2.2", 80),
    ]),
  ],
  [
    "nft add rule inet vmnet4 pre iifname eth0 udp dport 5353 dnat ip to 10.0.2.2",
    rule("pre", [...matchInterfaceName("iifname", "eth0"), ...port(17, 5353), ...natTo("dnat", "10.0.2.2")]),
  ],
  [
    "nft add rule inet vmnet4 pre iifname eth0 tcp dport 8080 dnat ip6 to [fd10:0:2::2]:80",
    rule("pre", [
      ...matchInterfaceName("iifname", "eth0"),
      ...port(6, 8080),
      ...natTo("dnat", "fd10:0:2::2", 80),
    ]),
  ],
  [
    "nft add rule inet vmnet4 pre iifname eth0 udp dport 53 dnat ip6 to fd10:0:2::2",
    rule("pre", [...matchInterfaceName("iifname", "eth0"), ...port(17, 53), ...natTo("dnat", "fd10:0:2::2")]),
  ],
  [
    "nft add rule inet vmnet4 out ip daddr 10.1.0.5 tcp dport 8080 dnat ip to 10.0.2.2:80",
    rule("out", [...matchAddress("daddr", "10.1.0.5"), ...port(6, 8080), ...natTo("dnat", "10.0.2.2", 80)]),
  ],
  [
    "nft add rule inet vmnet4 out ip6 daddr fd00::5 tcp dport 8080 dnat ip6 to [fd10:0:2::2]:80",
    rule("out", [...matchAddress("daddr", "fd00::5"), ...port(6, 8080), ...natTo("dnat", "fd10:0:2::2", 80)]),
  ],
  [
    "nft add rule inet vmnet4 fw ct state established,related accept",
    rule("fw", [...matchCtState(["established", "related"]), verdict("accept")]),
  ],
  [
    "nft add rule inet vmnet4 fw iifname br0 oifname eth0 udp dport 546-547 drop",
    rule("fw", [
      ...matchInterfaceName("iifname", "br0"),
      ...matchInterfaceName("oifname", "eth0"),
      ...matchL4Proto(17),
      ...matchDestinationPorts(546, 547),
      verdict("drop"),
    ]),
  ],
  [
    "nft add rule inet vmnet4 fw iifname br0 oifname eth0 icmpv6 type nd-router-advert drop",
    rule("fw", [
      ...matchInterfaceName("iifname", "br0"),
      ...matchInterfaceName("oifname", "eth0"),
      ...matchIcmpv6Type(134),
      verdict("drop"),
    ]),
  ],
  ["nft delete table inet vmnet4", tableDelete("inet", T)],
];

function hexMessages(buf: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < buf.length) {
    const len = buf.readUInt32LE(at);
    out.push(buf.subarray(at, at + len).toString("hex"));
    at += (len + 3) & ~3;
  }
  return out;
}

describe("NAT batches equal nft's", () => {
  test("every recorded command is covered", () => {
    expect(table.map(([c]) => c).sort()).toEqual(fixtures.map((f) => f.command).sort());
  });
  for (const [command, request] of table) {
    test(command, () => {
      const fixture = fixtures.find((f) => f.command === command);
      expect(fixture, `no fixture for ${command}`).toBeDefined();
      const sent = (fixture?.messages ?? []).filter(
        (hex) => Buffer.from(hex, "hex").readUInt16LE(4) !== GETGEN,
      );
      expect(hexMessages(encodeBatch([request]))).toEqual(sent);
    });
  }
});

describe("NAT expressions decode as written", () => {
  test("masquerade, dnat to address and port, bitwise prefix, ct state", () => {
    const expressions: NftExpression[] = [
      ...matchAddress("saddr", "10.0.2.0/23"),
      ...matchCtState(["established"]),
      ...natTo("dnat", "fd10:0:2::2", 80),
      masquerade(),
    ];
    const decoded = decodeRule(rule("post", expressions).body)?.expressions ?? [];
    expect(decoded.map((e) => e.kind)).toEqual(expressions.map((e) => e.kind));
    expect(decoded.find((e) => e.kind === "nat")).toEqual({
      kind: "nat",
      type: "dnat",
      family: "ipv6",
      addrReg: 1,
      protoReg: 2,
      flags: 2,
    });
    expect(decoded.find((e) => e.kind === "bitwise")).toMatchObject({
      len: 4,
      mask: Buffer.from("fffffe00", "hex"),
    });
    expect(decoded.filter((e) => e.kind === "immediate")).toEqual([
      { kind: "immediate", dreg: 1, data: Buffer.from("fd100000000200000000000000000002", "hex") },
      { kind: "immediate", dreg: 2, data: Buffer.from("0050", "hex") },
    ]);
    expect(decoded.at(-1)).toEqual({ kind: "masq" });
    expect(decoded.find((e) => e.kind === "ct")).toEqual({ kind: "ct", key: "state", dreg: 1 });
  });
  test("a /0 prefix is refused (it would match every packet)", () => {
    expect(() => matchAddress("saddr", "0.0.0.0/0")).toThrow(RangeError);
  });
});
