import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  canonicalIp,
  cidrContains,
  explainCidr,
  formatIp,
  ipFamily,
  isCidr,
  isIpAddress,
  isMacAddress,
  parseIp,
} from "../src/ip.js";

describe("IP addresses", () => {
  test.each([
    "0.0.0.0",
    "10.1.0.5",
    "255.255.255.255",
    "::",
    "::1",
    "fd00::1",
    "FD00:0:0:0:0:0:0:1",
    "2001:db8::8a2e:370:7334",
    "::ffff:192.0.2.1",
    "1:2:3:4:5:6:7::",
    "64:ff9b::10.0.0.1",
  ])("accepts %s", (text) => {
    expect(isIpAddress(text)).toBe(true);
  });

  test.each([
    "",
    "10.1.0",
    "10.1.0.5.6",
    "10.1.0.256",
    "010.1.0.5",
    "10.1.0.5/24",
    " 10.1.0.5",
    "1::2::3",
    ":1::2",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "fe80::1%eth0",
    "12345::1",
    "g::1",
    "::1.2.3",
    "1.2.3.4::",
  ])("rejects %j", (text) => {
    expect(isIpAddress(text)).toBe(false);
  });

  test("formats IPv6 the way Go does (RFC 5952)", () => {
    expect(canonicalIp("FD00:0:0:0:0:0:0:1")).toBe("fd00::1");
    expect(canonicalIp("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(canonicalIp("0:0:0:0:0:0:0:0")).toBe("::");
    expect(canonicalIp("10.1.0.5/16")).toBe("10.1.0.5");
  });

  test("formatting then parsing any address gives it back", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = parseIp(text);
        expect(ip).toBeDefined();
        if (!ip) return;
        const again = parseIp(formatIp(ip));
        expect(again).toEqual(ip);
      }),
    );
  });
});

describe("CIDRs", () => {
  test.each(["10.1.0.5/16", "0.0.0.0/0", "::/0", "fd00::5/64", "10.0.0.1/32", "fd00::1/128"])(
    "accepts %s",
    (text) => {
      expect(isCidr(text)).toBe(true);
    },
  );

  test.each([
    ["10.1.0.5", "has no /prefix"],
    ["10.1.0.5/33", "needs a prefix length of 0-32"],
    ["fd00::1/129", "needs a prefix length of 0-128"],
    ["10.1.0.5/024", "needs a prefix length of 0-32"],
    ["10.1.0.5/", "needs a prefix length of 0-32"],
    ["10.1.0.5/-1", "needs a prefix length of 0-32"],
    ["10.1.0/24", "has no valid IP address"],
    ["/24", "has no valid IP address"],
  ])("rejects %s: %s", (text, why) => {
    expect(isCidr(text)).toBe(false);
    expect(explainCidr(text)).toContain(why);
  });

  test("containment", () => {
    expect(cidrContains("10.1.0.0/16", "10.1.255.3")).toBe(true);
    expect(cidrContains("10.1.0.5/16", "10.2.0.1")).toBe(false);
    expect(cidrContains("10.1.0.5/21", "10.1.7.1")).toBe(true);
    expect(cidrContains("10.1.0.5/21", "10.1.8.1")).toBe(false);
    expect(cidrContains("fd00:22::5/64", "fd00:22::1")).toBe(true);
    expect(cidrContains("fd00:22::5/64", "10.1.0.1")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "192.0.2.1")).toBe(true);
  });

  test("family", () => {
    expect(ipFamily("10.0.0.1/8")).toBe(4);
    expect(ipFamily("::/0")).toBe(6);
    expect(ipFamily("nonsense")).toBeUndefined();
  });
});

describe("MAC addresses", () => {
  test.each([
    "00:11:22:33:44:55",
    "0A:58:0a:01:00:05",
    "00-11-22-33-44-55",
    "02:00:5e:10:00:00:00:01",
    "00:00:04:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",
  ])("accepts %s", (text) => {
    expect(isMacAddress(text)).toBe(true);
  });

  test.each([
    "",
    "00:11:22:33:44",
    "00:11:22:33:44:55:66",
    "00:11-22:33:44:55",
    "0011.2233.4455",
    "zz:11:22:33:44:55",
    "0:1:2:3:4:5",
  ])("rejects %j", (text) => {
    expect(isMacAddress(text)).toBe(false);
  });
});
