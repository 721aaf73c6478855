// Conversion rules, checked against what libcni does (see src/convert.ts for the list).

import { describe, expect, test } from "vitest";
import { type CniResult, type CniVersion, convertResult, parseResult, type ResultV1 } from "../src/index.js";

const dualStack: ResultV1 = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cni0", mac: "00:11:22:33:44:55" },
    { name: "eth0", mac: "99:88:77:66:55:44", sandbox: "/run/netns/blue", mtu: 1450 },
  ],
  ips: [
    { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 1 },
    { address: "10.2.0.5/16", interface: 1 },
    { address: "fd00:1::5/64", gateway: "fd00:1::1", interface: 1 },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1400 },
    { dst: "::/0" },
    { dst: "192.168.0.0/16", table: 100 },
  ],
  dns: { nameservers: ["10.1.0.1"], search: ["cluster.local"] },
};

describe("down to 0.2.0", () => {
  test("takes the first IPv4 and first IPv6, routes by family, only dst/gw", () => {
    expect(convertResult(dualStack, "0.2.0")).toEqual({
      cniVersion: "0.2.0",
      ip4: {
        ip: "10.1.0.5/16",
        gateway: "10.1.0.1",
        routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "192.168.0.0/16" }],
      },
      ip6: { ip: "fd00:1::5/64", gateway: "fd00:1::1", routes: [{ dst: "::/0" }] },
      dns: { nameservers: ["10.1.0.1"], search: ["cluster.local"] },
    });
  });

  test("a route of a family with no IP is dropped", () => {
    const v4only: ResultV1 = {
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.0.5/16" }],
      routes: [{ dst: "::/0" }],
    };
    expect(convertResult(v4only, "0.1.0")).toEqual({ cniVersion: "0.1.0", ip4: { ip: "10.1.0.5/16" } });
  });

  test.each<CniResult>([
    { cniVersion: "1.0.0" },
    { cniVersion: "1.1.0", interfaces: [{ name: "eth0" }], ips: [] },
    { cniVersion: "0.4.0", routes: [{ dst: "0.0.0.0/0" }] },
  ])("fails when there is no IP at all (%j)", (result) => {
    expect(() => convertResult(result, "0.2.0")).toThrow(
      "ips: cannot convert to 0.2.0: the result has no IP address",
    );
  });

  test.each([["interfaces", "0.2.0 results have no interfaces"]])(
    "strict: refuses to drop %s",
    (path, reason) => {
      expect(() => convertResult(dualStack, "0.2.0", { strict: true })).toThrow(`${path}: ${reason}`);
    },
  );

  test("strict: refuses a second address of a family", () => {
    const { interfaces: _dropped, ...noInterfaces } = dualStack;
    const result = {
      ...noInterfaces,
      ips: noInterfaces.ips?.map(({ interface: _i, ...ip }) => ip),
      routes: [],
    };
    expect(() => convertResult(result, "0.2.0", { strict: true })).toThrow(
      "ips[1]: 0.2.0 holds one IPv4 address; this is another",
    );
  });

  test("strict: refuses route fields 0.2.0 lacks, and routes without an address of their family", () => {
    const base: ResultV1 = { cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/16" }] };
    expect(() =>
      convertResult({ ...base, routes: [{ dst: "0.0.0.0/0", priority: 5 }] }, "0.2.0", { strict: true }),
    ).toThrow("routes[0].priority: 0.2.0 routes have no priority");
    expect(() => convertResult({ ...base, routes: [{ dst: "::/0" }] }, "0.2.0", { strict: true })).toThrow(
      "routes[0]: 0.2.0 has no IPv6 address to hold this route",
    );
  });

  test("strict: a result 0.2.0 can hold converts", () => {
    const simple: ResultV1 = {
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    };
    expect(convertResult(simple, "0.2.0", { strict: true }).ip4?.routes).toEqual([{ dst: "0.0.0.0/0" }]);
  });
});

describe("between 1.x and 0.3.x/0.4.0", () => {
  test("derives ips[].version from the address and keeps routes whole", () => {
    const v040 = convertResult(dualStack, "0.4.0");
    expect(v040.ips?.map((ip) => ip.version)).toEqual(["4", "4", "6"]);
    expect(v040.interfaces?.[1]).toEqual({
      name: "eth0",
      mac: "99:88:77:66:55:44",
      sandbox: "/run/netns/blue",
    });
    expect(v040.routes).toEqual(dualStack.routes);
  });

  test("strict: refuses 1.1.0 interface and route fields", () => {
    expect(() => convertResult(dualStack, "0.3.1", { strict: true })).toThrow(
      "interfaces[1].mtu: 0.3.1 interfaces have no mtu",
    );
    const { interfaces: _i, ...noInterfaces } = dualStack;
    expect(() => convertResult(noInterfaces, "0.4.0", { strict: true })).toThrow(
      "routes[0].mtu: 0.4.0 routes have no mtu",
    );
    expect(() => convertResult(dualStack, "1.0.0", { strict: true })).toThrow(
      "interfaces[1].mtu: 1.0.0 interfaces have no mtu",
    );
  });

  test("up to 1.x drops ips[].version and nothing else", () => {
    const v040 = parseResult({
      cniVersion: "0.3.0",
      interfaces: [{ name: "eth0", sandbox: "/run/netns/x" }],
      ips: [{ version: "6", address: "fd00::5/64", interface: 0 }],
    });
    expect(convertResult(v040, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", sandbox: "/run/netns/x" }],
      ips: [{ address: "fd00::5/64", interface: 0 }],
    });
  });
});

describe("up from 0.2.0", () => {
  test("ip4 then ip6 become ips without an interface index, as in libcni", () => {
    const legacy = parseResult({
      cniVersion: "0.2.0",
      ip6: { ip: "fd00::5/64", routes: [{ dst: "::/0", gw: "fd00::1" }] },
      ip4: { ip: "10.1.0.5/16", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] },
      dns: {},
    });
    expect(convertResult(legacy, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }, { address: "fd00::5/64" }],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }],
      dns: {},
    });
    expect(convertResult(legacy, "0.3.0").ips?.map((ip) => ip.version)).toEqual(["4", "6"]);
  });
});

describe("in general", () => {
  test("only the label changes within a family", () => {
    expect(convertResult(dualStack, "1.0.0")).toEqual({ ...dualStack, cniVersion: "1.0.0" });
    const v031 = convertResult(dualStack, "0.3.1");
    expect(convertResult(v031, "0.4.0")).toEqual({ ...v031, cniVersion: "0.4.0" });
  });

  test("never changes its input and never shares objects with it", () => {
    const before = structuredClone(dualStack);
    for (const version of ["0.1.0", "0.4.0", "1.0.0", "1.1.0"] as CniVersion[]) {
      const out = convertResult(dualStack, version) as ResultV1;
      if (out.routes) out.routes[0] = { dst: "1.1.1.1/32" };
    }
    expect(dualStack).toEqual(before);
  });

  test("refuses an unknown version", () => {
    expect(() => convertResult(dualStack, "2.0.0" as CniVersion)).toThrow(
      'cniVersion: cannot convert to unsupported version "2.0.0"',
    );
  });
});
