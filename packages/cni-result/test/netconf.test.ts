import { describe, expect, test } from "vitest";
import { CniResultError, parseNetworkConfig, parseNetworkConfigList } from "../src/index.js";
import { fixture, fixtureText } from "./support/fixtures.js";

describe("network configurations from the spec", () => {
  test.each([
    "spec/netconf-v1.0.0-spec-bridge.json",
    "spec/netconf-v0.4.0-spec-ovs.json",
    "spec/netconf-v0.4.0-spec-macvlan.json",
  ])("%s parses and keeps plugin-specific keys", (file) => {
    expect(parseNetworkConfig(fixtureText(file))).toEqual(fixture(file));
  });

  test.each(["spec/netconf-list-v1.0.0-spec.json", "spec/netconf-list-v0.4.0-spec.json"])(
    "list %s",
    (file) => {
      const list = parseNetworkConfigList(fixtureText(file));
      expect(list).toEqual(fixture(file));
      expect(list.plugins[0]?.type).toBe("bridge");
    },
  );

  test("a prevResult without cniVersion is read with the configuration's version", () => {
    const config = parseNetworkConfig(fixtureText("spec/netconf-v1.0.0-spec-tuning-prevresult.json"));
    expect(config.prevResult?.cniVersion).toBe("1.0.0");
    expect(config.runtimeConfig).toEqual({ mac: "00:11:22:33:44:66" });
    const old = parseNetworkConfig(fixtureText("spec/netconf-v0.3.1-spec-tuning-prevresult.json"));
    expect(old.prevResult).toEqual({
      cniVersion: "0.3.1",
      ips: [{ version: "4", address: "10.0.0.5/32", interface: 0 }],
      dns: { nameservers: ["10.1.0.1"] },
    });
  });

  test("1.1.0 list fields", () => {
    const list = parseNetworkConfigList({
      cniVersion: "1.1.0",
      cniVersions: ["1.0.0", "1.1.0"],
      name: "net",
      disableGC: true,
      disableCheck: "true",
      plugins: [{ type: "ptp" }],
    });
    expect(list.cniVersions).toEqual(["1.0.0", "1.1.0"]);
  });
});

describe("bad network configurations", () => {
  const base = { cniVersion: "1.0.0", name: "dbnet", type: "bridge" };
  test.each([
    [{ ...base, name: "-net" }, "name", "not a network name"],
    [{ ...base, name: undefined }, "name", "missing"],
    [{ ...base, type: "../bin/evil" }, "type", "contains a path separator"],
    [{ ...base, type: "" }, "type", "must not be empty"],
    [{ ...base, cniVersion: "1.0" }, "cniVersion", "not a spec version"],
    [{ ...base, ipam: { type: 5 } }, "ipam.type", "expected a string"],
    [{ ...base, capabilities: { mac: "yes" } }, "capabilities.mac", "expected true or false"],
    [{ ...base, dns: { nameservers: ["x"] } }, "dns.nameservers[0]", "not an IP address"],
    [{ ...base, prevResult: { ips: [{ address: "10.0.0.5" }] } }, "prevResult.ips[0].address", "not a CIDR"],
    [{ ...base, cniVersion: "9.0.0", prevResult: {} }, "prevResult.cniVersion", "missing"],
  ])("%j -> %s", (doc, path, reason) => {
    try {
      parseNetworkConfig(doc);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CniResultError);
      expect((error as CniResultError).path).toBe(path);
      expect((error as CniResultError).reason).toContain(reason);
    }
  });

  test.each([
    [{ cniVersion: "1.0.0", name: "n", plugins: [] }, "plugins", "at least 1"],
    [{ cniVersion: "1.0.0", name: "n", plugins: [{ bridge: "cni0" }] }, "plugins[0].type", "missing"],
    [
      { cniVersion: "1.0.0", name: "n", disableCheck: "yes", plugins: [{ type: "x" }] },
      "disableCheck",
      "true or false",
    ],
    [
      { cniVersion: "1.0.0", name: "n", plugins: [{ type: "x", prevResult: { ips: "none" } }] },
      "plugins[0].prevResult.ips",
      "expected an array",
    ],
  ])("list %j -> %s", (doc, path, reason) => {
    expect(() => parseNetworkConfigList(doc)).toThrow(`${path}: `);
    expect(() => parseNetworkConfigList(doc)).toThrow(reason);
  });
});
