import { describe, expect, test } from "vitest";
import {
  decodeArp,
  decodeFrame,
  decodeIcmpv6,
  decodeIpv6,
  decodeTcp,
  decodeVlanTag,
  formatIpv6,
  TruncatedError,
} from "../src/index.js";
import { dhcpDiscover, ethernet, ip4, mac } from "./frames.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("decoders", () => {
  test("IPv6 text follows RFC 5952", () => {
    const cases: [string, string][] = [
      ["20010db8000000000000000000000001", "2001:db8::1"],
      ["00000000000000000000000000000000", "::"],
      ["00000000000000000000000000000001", "::1"],
      ["20010db8000000010000000000000001", "2001:db8:0:1::1"],
      ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
      ["20010db8000100000001000100010001", "2001:db8:1:0:1:1:1:1"],
      ["fe800000000000000000000000000000", "fe80::"],
      ["00000000000000000000ffff0a000001", "::ffff:10.0.0.1"],
    ];
    for (const [h, text] of cases) expect(formatIpv6(hex(h))).toBe(text);
  });

  test("ARP reply", () => {
    const arp = hex("0001 0800 06 04 0002 020000000002 0a000002 020000000001 0a000001");
    expect(decodeArp(arp)).toEqual({
      hardwareType: 1,
      protocolType: 0x800,
      operation: 2,
      senderMac: "02:00:00:00:00:02",
      senderIp: "10.0.0.2",
      targetMac: "02:00:00:00:00:01",
      targetIp: "10.0.0.1",
    });
  });

  test("802.1Q tag fields", () => {
    expect(decodeVlanTag(hex("8100 b00a 0800"))).toEqual({
      tag: { tpid: 0x8100, pcp: 5, dei: true, vid: 10 },
      etherType: 0x800,
    });
  });

  test("TCP SYN with options, over IPv4 in a tagged frame", () => {
    const tcp = hex(
      "c350 0050 00000001 00000000 a002 faf0 1234 0000 020405b4 0402080a 00000001 00000000 01030307",
    );
    const ip = Buffer.concat([hex("4500 003c 0001 4000 4006 0000"), ip4("10.0.0.1"), ip4("10.0.0.2"), tcp]);
    const f = decodeFrame(
      ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x8100, Buffer.concat([hex("0014 0800"), ip])),
    );
    expect(f.error).toBeUndefined();
    expect(f.ethernet?.vlans).toEqual([{ tpid: 0x8100, pcp: 0, dei: false, vid: 20 }]);
    expect(f.ipv4).toMatchObject({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      dontFragment: true,
      ttl: 64,
      protocol: 6,
    });
    expect(f.tcp).toMatchObject({ srcPort: 50000, dstPort: 80, seq: 1, headerLength: 40, window: 0xfaf0 });
    expect(f.tcp?.flags).toMatchObject({ syn: true, ack: false, fin: false });
    expect(f.tcp?.options).toHaveLength(20);
    expect(decodeTcp(tcp).payload).toHaveLength(0);
  });

  test("IPv6 with a hop-by-hop header before UDP", () => {
    const udp = hex("1f90 1f91 000c 0000 61626364");
    const hbh = hex("11 00 0502 0000 0100"); // next: UDP, 8 bytes, router alert + padding
    const ip6 = Buffer.concat([
      hex("6000 0000"),
      Buffer.from([0, hbh.length + udp.length, 0, 64]),
      hex("fd000000000000000000000000000001"),
      hex("fd000000000000000000000000000002"),
      hbh,
      udp,
    ]);
    const d = decodeIpv6(ip6);
    expect(d).toMatchObject({
      nextHeader: 17,
      extensions: [0],
      src: "fd00::1",
      dst: "fd00::2",
      hopLimit: 64,
    });
    const f = decodeFrame(ip6, "raw");
    expect(f.udp).toMatchObject({ srcPort: 8080, dstPort: 8081, length: 12 });
    expect(f.udp?.payload.toString()).toBe("abcd");
  });

  test("router advertisement with prefix, MTU and source link-layer options", () => {
    const ra = Buffer.concat([
      hex("86 00 0000 40 c0 0708 00000000 00000000"),
      hex("0101"),
      mac("02:00:00:00:00:09"),
      hex("0304 40 c0 00278d00 00093a80 00000000"),
      hex("20010db8000100000000000000000000"),
      hex("0501 0000 000005dc"),
    ]);
    const d = decodeIcmpv6(ra);
    expect(d.type).toBe(134);
    expect(d.nd).toMatchObject({ curHopLimit: 64, managed: true, otherConfig: true, routerLifetime: 1800 });
    expect(d.nd?.options).toEqual({
      sourceLinkLayerAddress: "02:00:00:00:00:09",
      prefixes: [
        {
          prefix: "2001:db8:1::",
          prefixLength: 64,
          onLink: true,
          autonomous: true,
          validLifetime: 2592000,
          preferredLifetime: 604800,
        },
      ],
      mtu: 1500,
      other: [],
    });
  });

  test("neighbour advertisement flags and target link-layer address", () => {
    const na = Buffer.concat([
      hex("88 00 0000 60000000"),
      hex("fd000000000000000000000000000002"),
      hex("0201"),
      mac("02:00:00:00:00:02"),
    ]);
    expect(decodeIcmpv6(na).nd).toMatchObject({
      router: false,
      solicited: true,
      override: true,
      target: "fd00::2",
      options: { targetLinkLayerAddress: "02:00:00:00:00:02" },
    });
  });

  test("DHCP DISCOVER through decodeFrame", () => {
    const f = decodeFrame(dhcpDiscover());
    expect(f.dhcpv4).toMatchObject({ messageType: "DISCOVER", requestedIp: "10.0.0.50", broadcast: true });
    expect(f.dhcpv4?.clientId).toEqual(hex("01 020000000001"));
    expect(f.dhcpv4?.options.get(53)).toEqual(Buffer.from([1]));
  });

  test("a frame cut by the snap length decodes as far as it goes", () => {
    const full = dhcpDiscover();
    const f = decodeFrame(full.subarray(0, 44)); // Ethernet + IPv4 + 10 bytes of UDP+BOOTP
    expect(f.ethernet).toBeDefined();
    expect(f.ipv4?.src).toBe("0.0.0.0");
    expect(f.udp?.dstPort).toBe(67);
    expect(f.dhcpv4).toBeUndefined();
    expect(f.error).toBe("dhcpv4: need 240 bytes, have 2");
    expect(decodeFrame(full.subarray(0, 10)).error).toBe("ethernet: need 14 bytes, have 10");
    expect(() => decodeArp(Buffer.alloc(4))).toThrow(TruncatedError);
  });
});
