// The pure pieces of the IPv6 side: address text <-> bytes, the kernel filters (run through a
// small classic-BPF interpreter and compared with what they are meant to pass), checksums, the
// advert encoder, DUIDs, and input checking that names the field.
import fc from "fast-check";
import { expect, test } from "vitest";
import { macBytes } from "../src/dhcp/mac.js";
import {
  buildIpv6Frame,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  udpDatagram,
  upperLayerChecksum,
} from "../src/dhcp6/frame6.js";
import {
  ALL_DHCP_AGENTS,
  formatIpv6,
  linkLocalFromMac,
  multicastMac,
  parseIpv6,
  parseIpv6Cidr,
  solicitedNodeAddress,
} from "../src/dhcp6/ipv6.js";
import { encodeDhcp6Message, iaNaOption, option } from "../src/dhcp6/message.js";
import { receiveFrame6 } from "../src/dhcp6/receive.js";
import { serveLease6 } from "../src/dhcp6/served-lease.js";
import { DHCP6_SERVER_FILTER, icmp6Filter } from "../src/dhcp6/socket-filter6.js";
import { VmnetInputError } from "../src/errors.js";
import {
  advertsFromResult,
  Dhcp6Server,
  leases6FromResult,
  RouterAdvertiser,
  stableDuid,
} from "../src/index.js";
import { encodeRouterAdvert } from "../src/ra/advert.js";
import { resolveAdvert } from "../src/ra/advertiser.js";

test("IPv6 text: parse and RFC 5952 format agree with the URL parser's canonical form", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat({ max: 16 }), (bytes, zeros) => {
      const b = Buffer.from(bytes);
      b.fill(0, 16 - zeros); // runs of zero words, so "::" placement is exercised
      const text = formatIpv6(b);
      expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      expect(parseIpv6(text)).toEqual(b);
      expect(parseIpv6(new URL(`http://[${text}]/`).hostname.slice(1, -1))).toEqual(b);
    }),
    { numRuns: 5000 },
  );
  expect(formatIpv6(parseIpv6("2001:db8:0:0:1:0:0:1") as Buffer)).toBe("2001:db8::1:0:0:1");
  expect(formatIpv6(parseIpv6("::ffff:10.1.2.3") as Buffer)).toBe("::ffff:a01:203");
  for (const bad of ["", ":", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::g", "1.2.3.4", "fe80::1%eth0"]) {
    expect(parseIpv6(bad)).toBeUndefined();
  }
  expect(parseIpv6Cidr("2001:db8::/129")).toBeUndefined();
  expect(formatIpv6(linkLocalFromMac(macBytes("02:42:0a:f4:01:01")))).toBe("fe80::42:aff:fef4:101");
  expect(formatIpv6(solicitedNodeAddress(parseIpv6("fe80::42:aff:fef4:101") as Buffer))).toBe(
    "ff02::1:fff4:101",
  );
});

/** Runs a classic BPF program (the subset the filters use) on a frame: the accepted length. */
function runBpf(program: readonly (readonly [number, number, number, number])[], p: Buffer): number {
  let a = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const [code, jt, jf, k] = program[pc] as [number, number, number, number];
    switch (code) {
      case 0x28:
        if (k + 2 > p.length) return 0;
        a = p.readUInt16BE(k);
        break;
      case 0x30:
        if (k + 1 > p.length) return 0;
        a = p[k] as number;
        break;
      case 0x15:
        pc += a === k ? jt : jf;
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`opcode ${code}`);
    }
  }
  throw new Error("fell off the end");
}

test("the kernel filters pass exactly DHCPv6 to port 547 / ICMPv6 RS+NS, and frames starting with an extension header", () => {
  const ra = icmp6Filter([133, 135]);
  const frame = fc.record({
    ethertype: fc.constantFrom(0x86dd, 0x0800, 0x8100),
    next: fc.constantFrom(0, 6, 17, 43, 44, 58, 60, 59),
    port: fc.constantFrom(546, 547, 53, 0x0223),
    icmpType: fc.constantFrom(128, 133, 134, 135, 136, 143),
    length: fc.integer({ min: 0, max: 80 }),
  });
  fc.assert(
    fc.property(frame, (f) => {
      const b = Buffer.alloc(f.length);
      if (b.length >= 14) b.writeUInt16BE(f.ethertype, 12);
      if (b.length >= 21) b[20] = f.next;
      if (b.length >= 55) b[54] = f.icmpType;
      if (b.length >= 58) b.writeUInt16BE(f.port, 56);
      const v6 = b.length >= 21 && f.ethertype === 0x86dd;
      const ext = v6 && [0, 43, 44, 60].includes(f.next);
      const dhcp = v6 && f.next === 17 && b.length >= 58 && f.port === 547;
      const nd = v6 && f.next === 58 && b.length >= 55 && (f.icmpType === 133 || f.icmpType === 135);
      expect(runBpf(DHCP6_SERVER_FILTER, b) > 0).toBe(ext || dhcp);
      expect(runBpf(ra, b) > 0).toBe(ext || nd);
    }),
    { numRuns: 5000 },
  );
});

test("built frames verify: UDP and ICMPv6 checksums over the pseudo-header", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.boolean(),
      (src, data, udp) => {
        const upper = udp
          ? Buffer.concat([Buffer.from([2, 35, 2, 34, 0, 0, 0, 0]), data])
          : Buffer.concat([Buffer.from([134, 0, 0, 0]), data]);
        if (udp) upper.writeUInt16BE(upper.length, 4);
        const f = buildIpv6Frame({
          srcMac: Buffer.alloc(6),
          dstMac: Buffer.alloc(6),
          srcIp: src,
          dstIp: parseIpv6("ff02::1") as Buffer,
          hopLimit: 255,
          protocol: udp ? IPPROTO_UDP : IPPROTO_ICMPV6,
          upper,
        });
        expect(f.readUInt16BE(18)).toBe(upper.length);
        expect(
          upperLayerChecksum(
            src,
            parseIpv6("ff02::1") as Buffer,
            udp ? IPPROTO_UDP : IPPROTO_ICMPV6,
            f.subarray(54),
          ),
        ).toBe(0);
      },
    ),
  );
});

test("adverts: options padded to 8 octets, RIO prefix octets by length, DNSSL uncompressed", () => {
  const ra = encodeRouterAdvert(
    resolveAdvert({
      routerMac: "02:00:00:00:00:01",
      routes: [
        { prefix: "::/0", lifetimeS: 60 },
        { prefix: "2001:db8:99::/48", preference: "low" },
        { prefix: "2001:db8:99:1:2::/80", preference: "high" },
      ],
      dnssl: ["example.com"],
      rdnss: ["2001:db8::53"],
      maxIntervalS: 30,
    }),
  );
  expect(ra.subarray(0, 16).toString("hex")).toBe(
    `8600000040c0${(1800).toString(16).padStart(4, "0")}0000000000000000`,
  );
  const options: string[] = [];
  for (let at = 16; at < ra.length; at += (ra[at + 1] as number) * 8)
    options.push(ra.subarray(at, at + (ra[at + 1] as number) * 8).toString("hex"));
  expect(options).toEqual([
    "0101020000000001", // source link-layer address
    "180100000000003c", // RIO ::/0: no prefix octets, lifetime 60
    "180230180000070820010db800990000", // RIO /48, low preference: 8 prefix octets
    "180350080000070820010db8009900010002000000000000", // RIO /80, high: 16 prefix octets
    "190300000000005a20010db8000000000000000000000053", // RDNSS, lifetime 3 x 30 s
    "1f0300000000005a076578616d706c6503636f6d00000000", // DNSSL "example.com", zero padded
  ]);
  // ::/0 RIO: length 1 (no prefix octets), lifetime 60.
  expect(options[1]).toBe("180100000000003c");
});

test("DUIDs: stableDuid is a deterministic, locally administered DUID-LL", () => {
  expect(stableDuid("a")).toBe(stableDuid("a"));
  expect(stableDuid("a")).not.toBe(stableDuid("b"));
  fc.assert(
    fc.property(fc.string(), (seed) => {
      const d = Buffer.from(stableDuid(seed), "hex");
      expect(d.subarray(0, 4)).toEqual(Buffer.from([0, 3, 0, 1]));
      expect(d).toHaveLength(10);
      expect((d[4] as number) & 0x03).toBe(0x02);
    }),
  );
});

const result = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "0a:58:0a:f4:01:06", sandbox: "/run/netns/x" }],
  ips: [
    { address: "10.244.1.6/24", gateway: "10.244.1.1", interface: 0 },
    { address: "fd00:10:244::6/64", gateway: "fd00:10:244::1", interface: 0 },
  ],
  routes: [{ dst: "::/0" }, { dst: "fd00:99::/48" }, { dst: "fd00:10:244::/64" }, { dst: "0.0.0.0/0" }],
  dns: { nameservers: ["10.96.0.10", "fd00:10:96::a"], search: ["svc.cluster.local"] },
};

test("leases6FromResult and advertsFromResult take the IPv6 half of a dual-stack result, nothing invented", () => {
  expect(leases6FromResult(result).get("eth0")).toEqual({
    clientMac: "0a:58:0a:f4:01:06",
    address: "fd00:10:244::6",
    prefixLength: 64,
    nameservers: ["fd00:10:96::a"],
    search: ["svc.cluster.local"],
    preferredLifetimeS: 86400,
    validLifetimeS: 86400,
  });
  expect(advertsFromResult(result, { routerMac: "02:42:0a:f4:01:01", mtu: 1450 }).get("eth0")).toEqual({
    routerMac: "02:42:0a:f4:01:01",
    managed: true,
    other: true,
    defaultRouterLifetimeS: 1800,
    prefixes: [
      {
        prefix: "fd00:10:244::/64",
        onLink: true,
        autonomous: false,
        validLifetimeS: 86400,
        preferredLifetimeS: 86400,
      },
    ],
    routes: [{ prefix: "fd00:99::/48", lifetimeS: 86400 }],
    rdnss: ["fd00:10:96::a"],
    dnssl: ["svc.cluster.local"],
    mtu: 1450,
  });
  // Without ::/0 the advertiser is no default router; an IPv4-only result gives nothing.
  const noDefault = { ...result, routes: [] };
  expect(
    advertsFromResult(noDefault, { routerMac: "02:42:0a:f4:01:01" }).get("eth0")?.defaultRouterLifetimeS,
  ).toBe(0);
  // With no IPv6 route there is no router to name: the advert needs no routerMac.
  const routerless = advertsFromResult(noDefault).get("eth0");
  expect(routerless?.routerMac).toBeUndefined();
  expect(routerless?.prefixes?.[0]?.prefix).toBe("fd00:10:244::/64");
  const v4only = { ...result, ips: [result.ips[0]] };
  expect(leases6FromResult(v4only).size).toBe(0);
  expect(advertsFromResult(v4only).size).toBe(0);
});

function inputError(f: () => unknown): { field: string; reason: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof VmnetInputError) return { field: e.field, reason: e.reason };
    throw e;
  }
  throw new Error("no error");
}
async function inputErrorAsync(f: () => Promise<unknown>): Promise<{ field: string; reason: string }> {
  try {
    await f();
  } catch (e) {
    if (e instanceof VmnetInputError) return { field: e.field, reason: e.reason };
    throw e;
  }
  throw new Error("no error");
}

test("bad input: VmnetInputError naming the field, before any socket is opened", async () => {
  expect(inputError(() => advertsFromResult(result)).field).toBe("options.routerMac");
  expect(
    inputError(() => advertsFromResult(result, { routerMac: { eth1: "02:42:0a:f4:01:01" } })).field,
  ).toBe("options.routerMac.eth0");
  expect(
    (await inputErrorAsync(() => RouterAdvertiser.start({ bindings: [{ listenOn: "tap0", config: {} }] })))
      .field,
  ).toBe("options.bindings.0.config.routerMac");
  expect(inputError(() => advertsFromResult(result, { routerMac: "01:00:5e:00:00:01" })).field).toBe(
    "options.routerMac",
  );
  expect(inputError(() => leases6FromResult(result, { leaseTimeS: 0 })).field).toBe("options.leaseTimeS");
  const lease = leases6FromResult(result).get("eth0");
  const base = { bindings: [{ listenOn: "tap0", lease }] };
  expect((await inputErrorAsync(() => Dhcp6Server.start({ ...base, duid: "xyz" } as never))).field).toBe(
    "options.duid",
  );
  expect(
    (
      await inputErrorAsync(() =>
        Dhcp6Server.start({
          bindings: [{ listenOn: "tap0", lease: { ...lease, address: "fe80::6" } }],
        } as never),
      )
    ).field,
  ).toBe("options.bindings.0.lease.address");
  expect(
    (
      await inputErrorAsync(() =>
        Dhcp6Server.start({
          bindings: [{ listenOn: "tap0", lease: { ...lease, preferredLifetimeS: 10, validLifetimeS: 5 } }],
        } as never),
      )
    ).field,
  ).toBe("options.bindings.0.lease.preferredLifetimeS");
  expect(
    (
      await inputErrorAsync(() =>
        RouterAdvertiser.start({
          bindings: [{ listenOn: "tap0", config: { routerMac: "02:00:00:00:00:01", mtu: 1000 } }],
        }),
      )
    ).field,
  ).toBe("options.bindings.0.config.mtu");
  expect(
    (
      await inputErrorAsync(() =>
        RouterAdvertiser.start({
          bindings: [
            { listenOn: "tap0", config: { routerMac: "02:00:00:00:00:01", sourceLinkLocal: "2001:db8::1" } },
          ],
        }),
      )
    ).field,
  ).toBe("options.bindings.0.config.sourceLinkLocal");
  expect(
    (
      await inputErrorAsync(() =>
        RouterAdvertiser.start({
          bindings: [
            { listenOn: "tap0", config: { routerMac: "02:00:00:00:00:01" } },
            { listenOn: "tap0", config: { routerMac: "02:00:00:00:00:01" } },
          ],
        }),
      )
    ).field,
  ).toBe("options.bindings.1.listenOn");
  expect(
    (
      await inputErrorAsync(() =>
        RouterAdvertiser.start({
          bindings: [
            {
              listenOn: "tap0",
              config: { routerMac: "02:00:00:00:00:01", minIntervalS: 500, maxIntervalS: 600 },
            },
          ],
        }),
      )
    ).field,
  ).toBe("options.bindings.0.config.minIntervalS");
});

test("extension headers: walked to the DHCPv6 message, fragments never reassembled, long chains dropped", () => {
  const lease = leases6FromResult(result).get("eth0");
  if (!lease) throw new Error("no lease");
  const mac = macBytes(lease.clientMac);
  const listener = {
    mac: macBytes("02:00:00:00:00:fe"),
    duid: Buffer.from(stableDuid("x"), "hex"),
    clients: new Map([
      [
        mac.toString("hex"),
        { served: serveLease6(lease), source: linkLocalFromMac(macBytes("02:00:00:00:00:fe")) },
      ],
    ]),
  };
  const udp = udpDatagram(
    546,
    547,
    encodeDhcp6Message(1, 7, [option(1, Buffer.from([0, 3, 0, 1, ...mac])), iaNaOption(1, 0, 0, [])]),
  );
  const plain = buildIpv6Frame({
    srcMac: mac,
    dstMac: multicastMac(ALL_DHCP_AGENTS),
    srcIp: linkLocalFromMac(mac),
    dstIp: ALL_DHCP_AGENTS,
    hopLimit: 1,
    protocol: IPPROTO_UDP,
    upper: udp,
  });
  /** The same datagram behind `headers` (each: [type, bytes after the next-header field]). */
  const behind = (headers: [number, Buffer][]): Buffer => {
    const types = headers.map(([t]) => t);
    const blocks = headers.map(([, body], i) =>
      Buffer.concat([Buffer.from([types[i + 1] ?? IPPROTO_UDP]), body]),
    );
    const f = Buffer.concat([plain.subarray(0, 54), ...blocks, plain.subarray(54)]);
    f[20] = types[0] as number;
    f.writeUInt16BE(plain.readUInt16BE(18) + blocks.reduce((n, b) => n + b.length, 0), 18);
    return f;
  };
  const pad = Buffer.from([0, 1, 4, 0, 0, 0, 0]); // length 0 (8 octets) + PadN
  expect(receiveFrame6(plain, listener).kind).toBe("reply");
  expect(receiveFrame6(behind([[0, pad]]), listener).kind).toBe("reply");
  expect(
    receiveFrame6(
      behind([
        [0, pad],
        [60, pad],
      ]),
      listener,
    ).kind,
  ).toBe("reply");
  // Hop-by-Hop anywhere but first is malformed.
  expect(
    receiveFrame6(
      behind([
        [60, pad],
        [0, pad],
      ]),
      listener,
    ),
  ).toMatchObject({ kind: "dropped", reason: "bad-extension-header" });
  // A first fragment holding a DHCPv6 message is dropped; a later fragment is not ours to judge.
  expect(receiveFrame6(behind([[44, Buffer.from([0, 0, 1, 0, 0, 0, 1])]]), listener)).toMatchObject({
    kind: "dropped",
    reason: "fragmented",
  });
  expect(receiveFrame6(behind([[44, Buffer.from([0, 0, 0x10, 0, 0, 0, 1])]]), listener)).toEqual({
    kind: "ignored",
  });
  // Nine headers is more than any guest needs.
  expect(
    receiveFrame6(behind(Array.from({ length: 9 }, () => [60, pad] as [number, Buffer])), listener),
  ).toMatchObject({
    kind: "dropped",
    reason: "bad-extension-header",
  });
  // A header claiming more bytes than the packet has.
  expect(receiveFrame6(behind([[60, Buffer.from([9, 1, 4, 0, 0, 0, 0])]]), listener)).toMatchObject({
    kind: "dropped",
    reason: "bad-extension-header",
  });
});
