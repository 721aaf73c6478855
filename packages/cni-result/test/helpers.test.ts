import { describe, expect, test } from "vitest";
import {
  defaultGateway,
  interfaceForIp,
  ipsForInterface,
  parseResult,
  type ResultV1,
  routesForInterface,
} from "../src/index.js";
import { fixture } from "./support/fixtures.js";

/** A pod with two sandbox interfaces (eth0 dual-stack, net1 on a second network) and a host veth. */
const pod: ResultV1 = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "veth1234", mac: "55:44:33:22:11:11" },
    { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" },
    { name: "net1", mac: "0a:58:0a:02:00:07", sandbox: "/run/netns/pod" },
  ],
  ips: [
    { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 1 },
    { address: "fd00:1::5/64", gateway: "fd00:1::1", interface: 1 },
    { address: "10.2.0.7/24", interface: 2 },
    { address: "169.254.1.1/32", interface: 0 },
  ],
  routes: [
    { dst: "0.0.0.0/0" },
    { dst: "::/0", gw: "fd00:1::1" },
    { dst: "10.20.0.0/16", gw: "10.2.0.1" },
    { dst: "10.30.0.0/16", gw: "10.1.0.254" },
    { dst: "192.168.0.0/16", gw: "172.16.0.1" },
  ],
};

describe("ipsForInterface", () => {
  test("returns the entries pointing at the interface", () => {
    expect(ipsForInterface(pod, 1).map((ip) => ip.address)).toEqual(["10.1.0.5/16", "fd00:1::5/64"]);
    expect(ipsForInterface(pod, 2).map((ip) => ip.address)).toEqual(["10.2.0.7/24"]);
    expect(ipsForInterface(pod, 5)).toEqual([]);
  });

  test("reads a 0.4.0 result too", () => {
    const v040 = parseResult(fixture("spec/v0.4.0-spec-prevresult.json"), { cniVersion: "0.4.0" });
    expect(ipsForInterface(v040, 2)).toEqual([{ address: "10.0.0.5/32", interface: 2 }]);
  });
});

describe("routesForInterface", () => {
  test("a next hop inside an interface's subnet picks that interface", () => {
    expect(routesForInterface(pod, 2).map((r) => r.dst)).toEqual(["10.20.0.0/16"]);
  });

  test("routes without next hop, or with one in no subnet, go to the first sandbox interface of the family", () => {
    expect(routesForInterface(pod, 1).map((r) => r.dst)).toEqual([
      "0.0.0.0/0",
      "::/0",
      "10.30.0.0/16",
      "192.168.0.0/16",
    ]);
    expect(routesForInterface(pod, 0)).toEqual([]);
  });

  test("the spec's bridge example: the default route belongs to eth0, not the bridge", () => {
    const bridge = parseResult(fixture("spec/v1.0.0-spec-bridge.json"), { cniVersion: "1.0.0" });
    expect(routesForInterface(bridge, 2)).toEqual([{ dst: "0.0.0.0/0" }]);
    expect(routesForInterface(bridge, 0)).toEqual([]);
  });
});

describe("interfaceForIp", () => {
  test("finds the interface by address, with or without prefix, in any spelling", () => {
    expect(interfaceForIp(pod, "10.2.0.7")?.interface.name).toBe("net1");
    expect(interfaceForIp(pod, "10.1.0.5/16")?.index).toBe(1);
    expect(interfaceForIp(pod, "FD00:1:0::5")?.interface.name).toBe("eth0");
  });

  test("undefined for an unknown address, for garbage, and for an IP without interface", () => {
    expect(interfaceForIp(pod, "10.9.9.9")).toBeUndefined();
    expect(interfaceForIp(pod, "not-an-ip")).toBeUndefined();
    const ipam = parseResult(fixture("spec/v1.0.0-spec-host-local.json"), { cniVersion: "1.0.0" });
    expect(interfaceForIp(ipam, "10.1.0.5")).toBeUndefined();
  });
});

describe("defaultGateway", () => {
  test("a default route without gw uses the gateway of the family's IP", () => {
    expect(defaultGateway(pod)).toBe("10.1.0.1");
  });

  test("a default route's gw wins", () => {
    expect(defaultGateway(pod, 6)).toBe("fd00:1::1");
    const other = { ...pod, routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.254" }] };
    expect(defaultGateway(other, 4)).toBe("10.1.0.254");
  });

  test("undefined without a default route", () => {
    expect(defaultGateway({ ...pod, routes: [{ dst: "10.0.0.0/8", gw: "10.1.0.1" }] })).toBeUndefined();
  });

  test("works on a 0.2.0 result", () => {
    const legacy = parseResult(fixture("plugins/bridge-v0.2.0-dualstack.json"));
    expect(defaultGateway(legacy, 4)).toBe("10.22.0.1");
    expect(defaultGateway(legacy, 6)).toBe("fd00:22::1");
  });
});
