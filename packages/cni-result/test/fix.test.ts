import { describe, expect, test } from "vitest";
import { type CniResult, CniResultError, fixResult, type LinkSnapshot, parseResult } from "../src/index.js";

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
});
