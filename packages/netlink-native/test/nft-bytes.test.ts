// Our nftables batches against nft's, byte for byte. test/fixtures/nft/record-nft.sh recorded what
// `nft` (1.0.6) sends for each command (strace; seq/pid zeroed). nft first asks for the ruleset
// generation (NFT_MSG_GETGEN); the batch (begin, requests, end) is what we compare.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseMessages } from "../src/codec/message.js";
import {
  chainAdd,
  decodeChain,
  decodeRule,
  decodeTable,
  encodeBatch,
  matchDestinationPorts,
  matchEtherType,
  matchIcmpv6Type,
  matchInterfaceName,
  matchL4Proto,
  type NftRequest,
  ruleAdd,
  tableAdd,
  tableDelete,
  verdict,
} from "../src/nft/index.js";

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/nft/nft-requests.json", import.meta.url), "utf8"),
) as { command: string; messages: string[] }[];

const MARK = "vmnet:1 owner=vmnet pid=1@2 role=dhcp-block";
const GETGEN = 0x0a10;

const udp = (lo: number, hi?: number) => [...matchL4Proto(17), ...matchDestinationPorts(lo, hi)];

/** Each command's batches, as nft sends them (one batch per nft invocation). */
const table: [string, NftRequest[][]][] = [
  [
    `nft add table bridge vmnet2 '{ comment "${MARK}" ; }'`,
    [[tableAdd({ family: "bridge", name: "vmnet2", comment: MARK })]],
  ],
  ["nft add table netdev vmnet3", [[tableAdd({ family: "netdev", name: "vmnet3" })]]],
  [
    "nft add chain bridge vmnet0 fw2 '{ type filter hook forward priority -200 ; policy accept ; }'",
    [
      [
        chainAdd({
          family: "bridge",
          table: "vmnet0",
          name: "fw2",
          hook: { hook: "forward", priority: -200, policy: "accept" },
        }),
      ],
    ],
  ],
  [
    "nft add chain bridge vmnet0 in '{ type filter hook input priority 0 ; policy drop ; }'",
    [
      [
        chainAdd({
          family: "bridge",
          table: "vmnet0",
          name: "in",
          hook: { hook: "input", priority: 0, policy: "drop" },
        }),
      ],
    ],
  ],
  [
    "nft add chain netdev vmnet1 in '{ type filter hook ingress device eth0 priority -500 ; policy accept ; }'",
    [
      [
        chainAdd({
          family: "netdev",
          table: "vmnet1",
          name: "in",
          hook: { hook: "ingress", priority: -500, device: "eth0", policy: "accept" },
        }),
      ],
    ],
  ],
  [
    "nft add rule bridge vmnet0 forward iifname eth0 udp dport 67-68 drop",
    [
      [
        ruleAdd({
          family: "bridge",
          table: "vmnet0",
          chain: "forward",
          expressions: [...matchInterfaceName("iifname", "eth0"), ...udp(67, 68), verdict("drop")],
        }),
      ],
    ],
  ],
  [
    `nft add rule bridge vmnet0 forward oifname eth0 udp dport 67-68 drop comment '"${MARK}"'`,
    [
      [
        ruleAdd({
          family: "bridge",
          table: "vmnet0",
          chain: "forward",
          expressions: [...matchInterfaceName("oifname", "eth0"), ...udp(67, 68), verdict("drop")],
          comment: MARK,
        }),
      ],
    ],
  ],
  [
    "nft add rule bridge vmnet0 forward iifname tap12 udp dport 546-547 accept",
    [
      [
        ruleAdd({
          family: "bridge",
          table: "vmnet0",
          chain: "forward",
          expressions: [...matchInterfaceName("iifname", "tap12"), ...udp(546, 547), verdict("accept")],
        }),
      ],
    ],
  ],
  [
    "nft add chain netdev vmnet1 in2 '{ type filter hook ingress device eth0 priority 0 ; }' && nft add rule netdev vmnet1 in2 meta protocol ip udp dport 67 drop",
    [
      [
        chainAdd({
          family: "netdev",
          table: "vmnet1",
          name: "in2",
          hook: { hook: "ingress", priority: 0, device: "eth0" },
        }),
      ],
      [
        ruleAdd({
          family: "netdev",
          table: "vmnet1",
          chain: "in2",
          expressions: [...matchEtherType(0x0800), ...udp(67), verdict("drop")],
        }),
      ],
    ],
  ],
  ...(
    [
      ["iifname", "nd-router-advert", 134],
      ["oifname", "nd-router-solicit", 133],
    ] as const
  ).map(([dir, name, type]): [string, NftRequest[][]] => [
    `nft add rule bridge vmnet0 forward ${dir} eth0 icmpv6 type ${name} drop`,
    [
      [
        ruleAdd({
          family: "bridge",
          table: "vmnet0",
          chain: "forward",
          expressions: [
            ...matchInterfaceName(dir, "eth0"),
            ...matchIcmpv6Type(type, "bridge"),
            verdict("drop"),
          ],
        }),
      ],
    ],
  ]),
  ["nft delete table bridge vmnet0", [[tableDelete("bridge", "vmnet0")]]],
  ["nft delete table netdev vmnet1", [[tableDelete("netdev", "vmnet1")]]],
];

describe("nftables batches equal nft's", () => {
  test("every recorded command is covered", () => {
    expect(table.map(([c]) => c).sort()).toEqual(fixtures.map((f) => f.command).sort());
  });
  for (const [command, batches] of table) {
    test(command, () => {
      const fixture = fixtures.find((f) => f.command === command);
      expect(fixture, `no fixture for ${command}`).toBeDefined();
      const sent = (fixture?.messages ?? []).filter(
        (hex) => Buffer.from(hex, "hex").readUInt16LE(4) !== GETGEN,
      );
      const ours = batches.flatMap((b) => parseMessages(encodeBatch(b)));
      const ourHex = batches.flatMap((b) => {
        const buf = encodeBatch(b);
        const out: string[] = [];
        let at = 0;
        while (at < buf.length) {
          const len = buf.readUInt32LE(at);
          out.push(buf.subarray(at, at + len).toString("hex"));
          at += (len + 3) & ~3;
        }
        return out;
      });
      expect(ours.length).toBe(ourHex.length);
      expect(ourHex).toEqual(sent);
    });
  }
});

describe("decoding what we encode", () => {
  test("a table, a chain and a rule read back as written", () => {
    const body = (r: NftRequest) => r.body;
    expect(decodeTable(body(tableAdd({ family: "bridge", name: "t", comment: MARK })))).toEqual({
      family: "bridge",
      name: "t",
      handle: 0n,
      flags: 0,
      use: 0,
      comment: MARK,
    });
    expect(
      decodeChain(
        body(
          chainAdd({
            family: "netdev",
            table: "t",
            name: "c",
            hook: { hook: "egress", priority: -5, device: "eth0", policy: "drop" },
          }),
        ),
      ),
    ).toEqual({
      family: "netdev",
      table: "t",
      name: "c",
      handle: 0n,
      use: 0,
      hook: { hook: 1, priority: -5, device: "eth0" },
      type: "filter",
      policy: "drop",
    });
    const expressions = [...matchInterfaceName("iifname", "eth0"), ...udp(67, 68), verdict("drop")];
    const rule = decodeRule(
      body(ruleAdd({ family: "bridge", table: "t", chain: "c", expressions, comment: "hi" })),
    );
    expect(rule?.comment).toBe("hi");
    expect(rule?.expressions).toEqual(
      expressions.map((e) =>
        "dreg" in e || e.kind === "meta" || e.kind === "payload"
          ? { dreg: 1, ...e }
          : e.kind === "cmp"
            ? { sreg: 1, ...e }
            : e,
      ),
    );
  });
});
