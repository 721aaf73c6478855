// Malformed documents: each must fail with exactly one line that names the bad field.

import { describe, expect, test } from "vitest";
import { CniResultError, parseResult } from "../src/index.js";

const iface = { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/blue" };
const v1 = (extra: Record<string, unknown>) => JSON.stringify({ cniVersion: "1.0.0", ...extra });
const v04 = (extra: Record<string, unknown>) => JSON.stringify({ cniVersion: "0.4.0", ...extra });
const v02 = (extra: Record<string, unknown>) => JSON.stringify({ cniVersion: "0.2.0", ...extra });

/** [what is wrong, document, expected path, words the reason must contain] */
const cases: [string, string, string, string][] = [
  ["empty document", "", "", "the document is empty"],
  ["not JSON", "{cniVersion: 1}", "", "not valid JSON"],
  ["an array", "[]", "", "expected a JSON object, got an array"],
  ["null", "null", "", "expected a JSON object, got null"],
  ["a number", "42", "", "expected a JSON object, got 42"],
  ["no cniVersion", '{"ips":[]}', "cniVersion", "missing"],
  ["numeric cniVersion", '{"cniVersion":1}', "cniVersion", "expected a string, got 1"],
  ["unknown cniVersion", '{"cniVersion":"0.5.0"}', "cniVersion", 'unsupported version "0.5.0"'],
  ["ips not a list", v1({ ips: {} }), "ips", "expected an array, got an object"],
  ["ip entry not an object", v1({ ips: ["10.0.0.1/8"] }), "ips[0]", "expected an object"],
  ["address missing", v1({ ips: [{ gateway: "10.0.0.1" }] }), "ips[0].address", "missing"],
  ["address without prefix", v1({ ips: [{ address: "10.0.0.5" }] }), "ips[0].address", "not a CIDR"],
  [
    "second address bad",
    v1({ ips: [{ address: "10.0.0.5/8" }, { address: "10.0.0.300/8" }] }),
    "ips[1].address",
    "not a CIDR",
  ],
  ["prefix too long", v1({ ips: [{ address: "10.0.0.5/33" }] }), "ips[0].address", "prefix length of 0-32"],
  [
    "IPv6 prefix too long",
    v1({ ips: [{ address: "fd00::5/129" }] }),
    "ips[0].address",
    "prefix length of 0-128",
  ],
  [
    "address a number",
    v1({ ips: [{ address: 167772165 }] }),
    "ips[0].address",
    "expected a string, got 167772165",
  ],
  [
    "gateway not an IP",
    v1({ ips: [{ address: "10.0.0.5/8", gateway: "router" }] }),
    "ips[0].gateway",
    "not an IP address",
  ],
  [
    "gateway with prefix",
    v1({ ips: [{ address: "10.0.0.5/8", gateway: "10.0.0.1/8" }] }),
    "ips[0].gateway",
    "has a /prefix",
  ],
  [
    "gateway of the other family",
    v1({ ips: [{ address: "10.0.0.5/8", gateway: "fd00::1" }] }),
    "ips[0].gateway",
    "IPv6 gateway for an IPv4 address",
  ],
  [
    "negative interface index",
    v1({ interfaces: [iface], ips: [{ address: "10.0.0.5/8", interface: -1 }] }),
    "ips[0].interface",
    "at least 0",
  ],
  [
    "fractional interface index",
    v1({ interfaces: [iface], ips: [{ address: "10.0.0.5/8", interface: 0.5 }] }),
    "ips[0].interface",
    "expected an integer",
  ],
  [
    "interface index as text",
    v1({ interfaces: [iface], ips: [{ address: "10.0.0.5/8", interface: "0" }] }),
    "ips[0].interface",
    'expected a number, got "0"',
  ],
  [
    "interface index out of range",
    v1({ interfaces: [iface], ips: [{ address: "10.0.0.5/8", interface: 1 }] }),
    "ips[0].interface",
    "out of range",
  ],
  ["interfaces not a list", v1({ interfaces: iface }), "interfaces", "expected an array"],
  ["interface name missing", v1({ interfaces: [{ mac: iface.mac }] }), "interfaces[0].name", "missing"],
  ["interface name empty", v1({ interfaces: [{ name: "" }] }), "interfaces[0].name", "must not be empty"],
  [
    "bad MAC",
    v1({ interfaces: [{ name: "eth0", mac: "0a:58:0a:01:00" }] }),
    "interfaces[0].mac",
    "not a MAC address",
  ],
  [
    "MAC not hex",
    v1({ interfaces: [{ name: "eth0", mac: "0g:58:0a:01:00:05" }] }),
    "interfaces[0].mac",
    "not a MAC address",
  ],
  [
    "sandbox a number",
    v1({ interfaces: [{ name: "eth0", sandbox: 3 }] }),
    "interfaces[0].sandbox",
    "expected a string",
  ],
  [
    "interface mtu negative",
    v1({ interfaces: [{ name: "eth0", mtu: -1500 }] }),
    "interfaces[0].mtu",
    "at least 0",
  ],
  ["route dst missing", v1({ routes: [{ gw: "10.0.0.1" }] }), "routes[0].dst", "missing"],
  ["route dst not a CIDR", v1({ routes: [{ dst: "default" }] }), "routes[0].dst", "not a CIDR"],
  [
    "route gw of the other family",
    v1({ routes: [{ dst: "::/0", gw: "10.0.0.1" }] }),
    "routes[0].gw",
    "IPv4 next hop for an IPv6 destination",
  ],
  [
    "route gw not an IP",
    v1({ routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1.1" }] }),
    "routes[0].gw",
    "not an IP address",
  ],
  [
    "route scope too big",
    v1({ routes: [{ dst: "0.0.0.0/0", scope: 256 }] }),
    "routes[0].scope",
    "at most 255",
  ],
  [
    "route table negative",
    v1({ routes: [{ dst: "0.0.0.0/0", table: -1 }] }),
    "routes[0].table",
    "at least 0",
  ],
  [
    "route mtu as text",
    v1({ routes: [{ dst: "0.0.0.0/0", mtu: "1500" }] }),
    "routes[0].mtu",
    "expected a number",
  ],
  ["dns not an object", v1({ dns: ["10.0.0.1"] }), "dns", "expected an object, got an array"],
  [
    "nameserver not an IP",
    v1({ dns: { nameservers: ["dns.example"] } }),
    "dns.nameservers[0]",
    "not an IP address",
  ],
  ["search not a list", v1({ dns: { search: "example.com" } }), "dns.search", "expected an array"],
  ["0.4.0 ip without version", v04({ ips: [{ address: "10.0.0.5/8" }] }), "ips[0].version", "missing"],
  [
    "0.4.0 ip version 5",
    v04({ ips: [{ version: "5", address: "10.0.0.5/8" }] }),
    "ips[0].version",
    'must be "4" or "6"',
  ],
  [
    "0.4.0 ip version numeric",
    v04({ ips: [{ version: 4, address: "10.0.0.5/8" }] }),
    "ips[0].version",
    "got 4",
  ],
  [
    "0.4.0 version disagrees with address",
    v04({ ips: [{ version: "6", address: "10.0.0.5/8" }] }),
    "ips[0].version",
    "the address is IPv4",
  ],
  ["0.2.0 ip4 holds IPv6", v02({ ip4: { ip: "fd00::5/64" } }), "ip4.ip", "IPv6 address in ip4"],
  [
    "0.2.0 ip6 gateway IPv4",
    v02({ ip6: { ip: "fd00::5/64", gateway: "10.0.0.1" } }),
    "ip6.gateway",
    "IPv4 gateway in ip6",
  ],
  ["0.2.0 ip missing", v02({ ip4: { gateway: "10.0.0.1" } }), "ip4.ip", "missing"],
  [
    "0.2.0 route of the other family",
    v02({ ip4: { ip: "10.0.0.5/8", routes: [{ dst: "::/0" }] } }),
    "ip4.routes[0].dst",
    "IPv6 destination in ip4",
  ],
  [
    "0.2.0 route dst bad",
    v02({ ip4: { ip: "10.0.0.5/8", routes: [{ dst: "10.0.0.0" }] } }),
    "ip4.routes[0].dst",
    "not a CIDR",
  ],
];

describe("malformed results", () => {
  test("the table is big enough", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  test.each(cases)("%s", (_what, text, path, reason) => {
    let caught: unknown;
    try {
      parseResult(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CniResultError);
    const error = caught as CniResultError;
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(path === "" ? error.reason : `${path}: ${error.reason}`);
    expect(error.message).not.toContain("\n");
    // Never zod's wording.
    expect(error.message).not.toMatch(/Invalid input|ZodError/);
  });
});
