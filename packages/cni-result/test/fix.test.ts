import { describe, expect, test } from "vitest";
import {
  type CniResult,
  CniResultError,
  defaultGateway,
  fixResult,
  interfaceForIp,
  isOnLinkRoute,
  type LinkSnapshot,
  parseResult,
  type ResultV1,
  ROUTE_SCOPE_LINK,
} from "../src/index.js";

const eth0: LinkSnapshot = {
  name: "eth0",
  mac: "0a:58:0a:01:00:05",
  mtu: 1450,
  addresses: ["10.1.0.5/16", "fd00:1::5/64", "fe80::858:aff:fe01:5/64"],
  routes: [
    { dst: "10.1.0.0/16", protocol: "kernel" },
    { dst: "fd00:1::/64", protocol: "kernel" },
    { dst: "0.0.0.0/0", gw: "10.1.0.1", protocol: "boot" },
    { dst: "10.96.0.0/12", gw: "10.1.0.254" },
    { dst: "::/0", gw: "fd00:1::1" },
  ],
  sandbox: "/run/netns/pod",
};
const lo: LinkSnapshot = {
  name: "lo",
  mac: "00:00:00:00:00:00",
  mtu: 65536,
  addresses: ["127.0.0.1/8"],
  routes: [],
};

// A ptp interface as the real plugin leaves it (dual stack): it deletes the kernel's prefix
// routes and adds an on-link route to each gateway (no next hop, proto boot) and the subnet via
// the gateway. Recorded with `ip -j route show dev eth0` after /usr/lib/cni/ptp ADD.
const ptp0: LinkSnapshot = {
  name: "eth0",
  mac: "4a:32:1d:c4:da:d3",
  mtu: 1500,
  addresses: ["10.77.1.2/24", "fd00:77:1::2/64", "fe80::4832:1dff:fec4:dad3/64"],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.77.1.1" },
    { dst: "10.77.1.0/24", gw: "10.77.1.1" },
    { dst: "10.77.1.1/32" },
    { dst: "fd00:77:1::1/128" },
    { dst: "fd00:77:1::/64", gw: "fd00:77:1::1" },
    { dst: "fe80::/64", protocol: "kernel" },
    { dst: "::/0", gw: "fd00:77:1::1" },
  ],
  sandbox: "/run/netns/c1",
};
const twoIps = { ips: [{ address: "10.77.1.2/24" }, { address: "fd00:77:1::2/64" }] };

describe("fixResult", () => {
  test("a 0.2.0 result gets interfaces and indexes from the link holding its addresses", () => {
    const legacy = parseResult({
      cniVersion: "0.2.0",
      ip4: { ip: "10.1.0.5/16", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] },
    });
    expect(fixResult(legacy, [lo, eth0])).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" }],
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
  });

  test("an IP without index joins the interface already listed under the link's name", () => {
    const result: CniResult = {
      cniVersion: "1.1.0",
      interfaces: [{ name: "cni0" }, { name: "eth0", sandbox: "/run/netns/pod" }],
      ips: [{ address: "fd00:1::5/64" }],
      routes: [{ dst: "::/0" }],
    };
    const fixed = fixResult(result, [eth0]);
    expect(fixed.ips).toEqual([{ address: "fd00:1::5/64", interface: 1 }]);
    // 1.1.0 interfaces take mac and mtu from their link; links not in the snapshot stay as they were.
    expect(fixed.interfaces).toEqual([
      { name: "cni0" },
      { name: "eth0", sandbox: "/run/netns/pod", mac: "0a:58:0a:01:00:05", mtu: 1450 },
    ]);
  });

  test("one IP and no routes: routes and gateway come from the link, without kernel routes", () => {
    const weave = parseResult({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.1.0.5/16" }] });
    expect(fixResult(weave, [eth0])).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" }],
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 0 }],
      routes: [
        { dst: "0.0.0.0/0", gw: "10.1.0.1" },
        { dst: "10.96.0.0/12", gw: "10.1.0.254" },
      ],
    });
  });

  test("no IP at all: the links are described", () => {
    const empty = parseResult({ cniVersion: "1.0.0", dns: { nameservers: ["10.96.0.10"] } });
    const fixed = fixResult(empty, [lo, eth0], { cniVersion: "1.1.0" });
    expect(fixed.interfaces).toEqual([{ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" }]);
    expect(fixed.ips).toEqual([
      { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 0 },
      { address: "fd00:1::5/64", gateway: "fd00:1::1", interface: 0 },
    ]);
    expect(fixed.routes?.map((r) => r.dst)).toEqual(["0.0.0.0/0", "10.96.0.0/12", "::/0"]);
    expect(fixed.dns).toEqual({ nameservers: ["10.96.0.10"] });
  });

  test("a complete result comes back unchanged, and the input is never modified", () => {
    const complete = parseResult({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" }],
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    const before = structuredClone(complete);
    expect(fixResult(complete, [eth0])).toEqual(complete);
    const partial = parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.1.0.5/16" }] });
    const partialBefore = structuredClone(partial);
    fixResult(partial, [eth0]);
    expect(complete).toEqual(before);
    expect(partial).toEqual(partialBefore);
  });

  test.each([
    [
      "an IP no link holds",
      { cniVersion: "1.0.0", ips: [{ address: "10.9.0.5/16" }] },
      [eth0],
      "ips[0].interface: missing, and no link has the address 10.9.0.5",
    ],
    [
      "nothing anywhere",
      { cniVersion: "1.0.0" },
      [lo],
      "ips: the result has no IP address and no link has one to take",
    ],
    [
      "a bad snapshot",
      { cniVersion: "1.0.0" },
      [{ ...eth0, addresses: ["10.1.0.5"] }],
      'links[0].addresses[0]: not a CIDR: "10.1.0.5" has no /prefix',
    ],
    [
      "a route dst of 'default'",
      { cniVersion: "1.0.0" },
      [{ ...eth0, routes: [{ dst: "default" }] }],
      "links[0].routes[0].dst",
    ],
  ] as const)("fails clearly for %s", (_what, doc, links, message) => {
    expect(() => fixResult(parseResult(doc), links)).toThrow(CniResultError);
    expect(() => fixResult(parseResult(doc), links)).toThrow(message);
  });

  describe("interface indexes are recomputed from the links", () => {
    const host = { name: "veth1a2b3c", mac: "3a:06:68:c5:32:2e" };
    const withIndexes = (a: number, b: number): ResultV1 => ({
      cniVersion: "1.0.0",
      interfaces: [host, { name: "eth0", mac: eth0.mac, sandbox: "/run/netns/pod" }],
      ips: [
        { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: a },
        { address: "fd00:1::5/64", interface: b },
      ],
      routes: [{ dst: "0.0.0.0/0" }],
    });

    test.each([
      ["out of range", 7, 9],
      ["the host-side veth", 0, 0],
      ["one right, one out of range", 1, 2],
    ])("an index pointing at %s is replaced by eth0's", (_what, a, b) => {
      const fixed = fixResult(withIndexes(a, b), [lo, eth0]);
      expect(fixed.ips?.map((ip) => ip.interface)).toEqual([1, 1]);
      expect(fixed.interfaces).toEqual(withIndexes(1, 1).interfaces);
      expect(interfaceForIp(fixed, "10.1.0.5")?.interface.name).toBe("eth0");
      expect(interfaceForIp(fixed, "fd00:1::5")?.interface.sandbox).toBe("/run/netns/pod");
    });

    test("a host-side and a sandbox-side interface of the same name: the sandbox one is taken", () => {
      const fixed = fixResult(
        {
          cniVersion: "1.0.0",
          interfaces: [{ name: "eth0" }, { name: "eth0", sandbox: "/run/netns/pod" }],
          ips: [{ address: "10.1.0.5/16", interface: 0 }],
        },
        [eth0],
      );
      expect(fixed.ips?.[0]?.interface).toBe(1);
      expect(fixed.interfaces?.[0]).toEqual({ name: "eth0" });
    });

    test("an index pointing at a link not given: that link is appended", () => {
      const fixed = fixResult(
        { cniVersion: "1.0.0", interfaces: [host], ips: [{ address: "10.1.0.5/16", interface: 0 }] },
        [eth0],
      );
      expect(fixed.interfaces).toEqual([host, { name: "eth0", mac: eth0.mac, sandbox: "/run/netns/pod" }]);
      expect(fixed.ips?.[0]?.interface).toBe(1);
    });

    test("an index no link bears out is an error naming the entry it points at", () => {
      const doc: ResultV1 = {
        cniVersion: "1.0.0",
        interfaces: [{ name: "eth0" }],
        ips: [
          { address: "10.1.0.5/16", interface: 0 },
          { address: "10.9.0.5/16", interface: 0 },
        ],
      };
      expect(() => fixResult(doc, [eth0])).toThrow(
        new CniResultError("ips[1].interface", 'points at "eth0" (0), and no link has the address 10.9.0.5'),
      );
      doc.ips = [{ address: "10.9.0.5/16", interface: 4 }];
      expect(() => fixResult(doc, [eth0])).toThrow(
        "ips[0].interface: points at no interface (4), and no link has the address 10.9.0.5",
      );
    });
  });

  describe("routes without a next hop are never written as plain routes", () => {
    test("two IPs on ptp, no routes, 1.0.0: each subnet via its gateway; on-link and kernel routes left out", () => {
      const fixed = fixResult({ cniVersion: "1.0.0", ...twoIps }, [lo, ptp0]);
      expect(fixed.routes).toEqual([
        { dst: "0.0.0.0/0", gw: "10.77.1.1" },
        { dst: "10.77.1.0/24", gw: "10.77.1.1" },
        { dst: "fd00:77:1::/64", gw: "fd00:77:1::1" },
        { dst: "::/0", gw: "fd00:77:1::1" },
      ]);
      expect(fixed.ips).toEqual([
        { address: "10.77.1.2/24", gateway: "10.77.1.1", interface: 0 },
        { address: "fd00:77:1::2/64", gateway: "fd00:77:1::1", interface: 0 },
      ]);
    });

    test("the same in 1.1.0: the on-link routes to the gateways come with scope link", () => {
      const fixed = fixResult({ cniVersion: "1.1.0", ...twoIps }, [ptp0]);
      expect(fixed.routes).toEqual([
        { dst: "0.0.0.0/0", gw: "10.77.1.1" },
        { dst: "10.77.1.0/24", gw: "10.77.1.1" },
        { dst: "10.77.1.1/32", scope: ROUTE_SCOPE_LINK },
        { dst: "fd00:77:1::1/128", scope: ROUTE_SCOPE_LINK },
        { dst: "fd00:77:1::/64", gw: "fd00:77:1::1" },
        { dst: "::/0", gw: "fd00:77:1::1" },
      ]);
      expect(fixed.routes?.filter(isOnLinkRoute).map((r) => r.dst)).toEqual([
        "10.77.1.1/32",
        "fd00:77:1::1/128",
      ]);
      expect(fixed.routes?.every((r) => r.gw !== undefined || r.scope === ROUTE_SCOPE_LINK)).toBe(true);
    });

    test("two IPs on a link with only prefix routes: no routes, whether or not the protocol is known", () => {
      const macvlan: LinkSnapshot = {
        ...eth0,
        addresses: ["10.78.1.2/24", "fd00:78:1::2/64"],
        routes: [
          { dst: "10.78.1.0/24", protocol: "kernel" },
          { dst: "fd00:78:1::/64", protocol: 2 },
          { dst: "fe80::/64", protocol: "kernel" },
        ],
      };
      const doc: CniResult = {
        cniVersion: "1.0.0",
        ips: [{ address: "10.78.1.2/24" }, { address: "fd00:78:1::2/64" }],
      };
      expect(fixResult(doc, [macvlan]).routes).toBeUndefined();
      expect(fixResult({ ...doc, cniVersion: "1.1.0" }, [macvlan]).routes).toBeUndefined();
      // A caller that cannot tell who made a route: without a next hop it is on-link, never plain.
      const unknown = { ...macvlan, routes: macvlan.routes.map(({ dst }) => ({ dst })) };
      expect(fixResult(doc, [unknown]).routes).toBeUndefined();
      expect(fixResult({ ...doc, cniVersion: "1.1.0" }, [unknown]).routes).toEqual([
        { dst: "10.78.1.0/24", scope: ROUTE_SCOPE_LINK },
        { dst: "fd00:78:1::/64", scope: ROUTE_SCOPE_LINK },
        { dst: "fe80::/64", scope: ROUTE_SCOPE_LINK },
      ]);
    });

    test("an on-link default route has no gateway", () => {
      const pointToPoint: LinkSnapshot = { ...eth0, routes: [{ dst: "0.0.0.0/0" }] };
      const fixed = fixResult(
        { cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }] },
        [pointToPoint],
      );
      expect(fixed.routes).toEqual([{ dst: "0.0.0.0/0", scope: ROUTE_SCOPE_LINK }]);
      expect(defaultGateway(fixed, 4)).toBeUndefined();
      expect(defaultGateway({ ...fixed, routes: [{ dst: "0.0.0.0/0" }] }, 4)).toBe("10.1.0.1");
    });
  });
});
