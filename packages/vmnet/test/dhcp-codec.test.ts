// The pure layers of the DHCP server: options (RFC 2132/3396), option 119 (RFC 3397 with name
// compression), option 121 (RFC 3442), the BOOTP message, and Ethernet/IPv4/UDP framing.
import { compileFilter } from "@vmnet/capture";
import { describe, expect, test } from "vitest";
import { decodeClasslessRoutes, encodeClasslessRoutes } from "../src/dhcp/classless-routes.js";
import { decodeDomainSearch, domainNameProblem, encodeDomainSearch } from "../src/dhcp/dns-search.js";
import { buildFrame, internetChecksum, parseFrame } from "../src/dhcp/frame.js";
import { parseIpv4 } from "../src/dhcp/ipv4.js";
import { BROADCAST_MAC, macBytes } from "../src/dhcp/mac.js";
import { DhcpDecodeError, encodeOption, OPTION } from "../src/dhcp/options.js";
import { decodeDhcpMessage, encodeDhcpMessage, MAGIC_COOKIE, MESSAGE_TYPE } from "../src/dhcp/packet.js";
import { DHCP_SERVER_FILTER_INSTRUCTIONS, dhcpServerFilter } from "../src/dhcp/socket-filter.js";

const ip = (s: string) => parseIpv4(s) as number;

test("RFC 3397's own example: compressed search list bytes", () => {
  // RFC 3397 section 3: "eng.apple.com." and "marketing.apple.com." encode to 27 bytes with a
  // pointer to offset 4 ("apple.com").
  const bytes = encodeDomainSearch(["eng.apple.com", "marketing.apple.com."]);
  expect(bytes.toString("hex")).toBe(
    Buffer.concat([
      Buffer.from([3]),
      Buffer.from("eng"),
      Buffer.from([5]),
      Buffer.from("apple"),
      Buffer.from([3]),
      Buffer.from("com"),
      Buffer.from([0, 9]),
      Buffer.from("marketing"),
      Buffer.from([0xc0, 0x04]),
    ]).toString("hex"),
  );
  expect(bytes.length).toBe(27);
  expect(decodeDomainSearch(bytes)).toEqual(["eng.apple.com", "marketing.apple.com"]);
});

test("search lists: a name that is a suffix of an earlier one is one pointer; bad names are refused", () => {
  const names = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"];
  const bytes = encodeDomainSearch(names);
  // "default" label + the rest once, then two 2-byte pointers.
  expect(bytes.length).toBe(1 + 7 + 1 + 3 + 1 + 7 + 1 + 5 + 1 + 2 + 2);
  expect(decodeDomainSearch(bytes)).toEqual(names);
  expect(domainNameProblem("a..b")).toMatch(/empty label/);
  expect(domainNameProblem(`${"a".repeat(64)}.com`)).toMatch(/63/);
  expect(domainNameProblem("spaces are.bad")).toMatch(/letters/);
  expect(domainNameProblem(Array(130).fill("ab").join("."))).toMatch(/255/);
  // A pointer forward (or to itself) is refused instead of looping.
  expect(decodeDomainSearch(Buffer.from([0xc0, 0x00]))).toBeUndefined();
  expect(decodeDomainSearch(Buffer.from([1, 0x61, 0xc0, 0x05]))).toBeUndefined();
});

test("RFC 3442 encoding: only significant octets of the destination, router 0.0.0.0 = on-link", () => {
  const routes = [
    { destination: ip("169.254.1.1"), prefixLength: 32, router: 0 },
    { destination: ip("10.0.0.0"), prefixLength: 8, router: ip("10.1.2.254") },
    { destination: ip("10.17.0.0"), prefixLength: 12, router: ip("10.1.2.254") },
    { destination: 0, prefixLength: 0, router: ip("169.254.1.1") },
  ];
  const bytes = encodeClasslessRoutes(routes);
  expect([...bytes]).toEqual([
    32,
    169,
    254,
    1,
    1,
    0,
    0,
    0,
    0,
    8,
    10,
    10,
    1,
    2,
    254,
    12,
    10,
    16,
    10,
    1,
    2,
    254, // host bits of 10.17 cleared for a /12
    0,
    169,
    254,
    1,
    1,
  ]);
  expect(decodeClasslessRoutes(bytes)).toEqual([
    routes[0],
    routes[1],
    { ...routes[2], destination: ip("10.16.0.0") },
    routes[3],
  ]);
  expect(decodeClasslessRoutes(Buffer.from([33, 0, 0, 0, 0]))).toBeUndefined();
  expect(decodeClasslessRoutes(Buffer.from([24, 10, 0]))).toBeUndefined();
});

test("options longer than 255 bytes are split into instances and joined back (RFC 3396)", () => {
  const long = Buffer.alloc(600, 7);
  const tlv = encodeOption(OPTION.CLASSLESS_ROUTES, long);
  expect(tlv.length).toBe(600 + 3 * 2);
  expect([tlv[0], tlv[1], tlv[257], tlv[258], tlv[514], tlv[515]]).toEqual([121, 255, 121, 255, 121, 90]);
  const message = encodeDhcpMessage({
    op: 2,
    xid: 1,
    flags: 0,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: macBytes("02:00:00:00:00:01"),
    messageType: MESSAGE_TYPE.ACK,
    options: [[OPTION.CLASSLESS_ROUTES, long]],
  });
  expect(decodeDhcpMessage(message).options.get(OPTION.CLASSLESS_ROUTES)).toEqual(long);
});

function request(options: Buffer, patch: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(240 + options.length);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0xdeadbeef, 4);
  macBytes("02:00:00:00:00:01").copy(b, 28);
  b.writeUInt32BE(MAGIC_COOKIE, 236);
  options.copy(b, 240);
  patch(b);
  return b;
}

test("decoding: fields, overload into file and sname, and every malformed case as a reason", () => {
  const m = decodeDhcpMessage(request(Buffer.from([53, 1, 1, 50, 4, 10, 1, 2, 3, 0, 0, 255, 9, 9])));
  expect(m).toMatchObject({ op: 1, htype: 1, hlen: 6, xid: 0xdeadbeef, messageType: 1 });
  expect(m.options.get(OPTION.REQUESTED_ADDRESS)).toEqual(Buffer.from([10, 1, 2, 3]));
  // Option overload 3: more options in `file` (read first) and `sname`.
  const over = decodeDhcpMessage(
    request(Buffer.from([52, 1, 3, 53, 1, 3, 255]), (b) => {
      b.set([12, 2, 0x61, 0x62, 255], 108);
      b.set([12, 1, 0x63, 255], 44);
    }),
  );
  expect(over.options.get(OPTION.HOSTNAME)?.toString()).toBe("abc");
  const reason = (b: Buffer) => {
    try {
      decodeDhcpMessage(b);
      return "decoded";
    } catch (e) {
      return e instanceof DhcpDecodeError ? e.reason : "threw something else";
    }
  };
  expect(reason(request(Buffer.alloc(0)).subarray(0, 200))).toBe("truncated");
  expect(reason(request(Buffer.from([53, 1, 1]), (b) => b.writeUInt32BE(0, 236)))).toBe("bad-cookie");
  expect(reason(request(Buffer.from([53, 1, 1, 50, 9, 1])))).toBe("bad-option");
  expect(reason(request(Buffer.from([50, 4, 1, 2, 3, 4, 255])))).toBe("no-message-type");
  expect(reason(request(Buffer.from([53, 2, 1, 1, 255])))).toBe("bad-message-type");
  expect(reason(request(Buffer.from([53, 1, 1, 52, 1, 7, 255])))).toBe("bad-option");
});

test("frames: checksums that the receiver verifies, and what is ignored versus dropped", () => {
  const payload = Buffer.from("hello dhcp");
  const frame = buildFrame({
    srcMac: macBytes("02:00:00:00:00:02"),
    dstMac: BROADCAST_MAC,
    srcIp: ip("169.254.254.2"),
    dstIp: 0xffffffff,
    srcPort: 68,
    dstPort: 67,
    payload,
  });
  // IP header and UDP (with pseudo-header) both sum to zero when correct.
  expect(internetChecksum(frame, 14, 20)).toBe(0);
  const udpLength = 8 + payload.length;
  const pseudo = Buffer.alloc(12 + udpLength);
  frame.copy(pseudo, 0, 26, 34);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udpLength, 10);
  frame.copy(pseudo, 12, 34);
  expect(internetChecksum(pseudo, 0, pseudo.length)).toBe(0);
  const parsed = parseFrame(frame);
  expect(parsed.kind).toBe("dhcp");
  if (parsed.kind === "dhcp") expect(parsed.datagram.payload.toString()).toBe("hello dhcp");
  // Ethernet padding after the packet is fine.
  expect(parseFrame(Buffer.concat([frame, Buffer.alloc(20)])).kind).toBe("dhcp");
  const corrupt = Buffer.from(frame);
  corrupt[22] = 1; // TTL changed without fixing the header checksum
  expect(parseFrame(corrupt)).toEqual({ kind: "drop", reason: "bad-ip-checksum" });
  const arp = Buffer.from(frame);
  arp.writeUInt16BE(0x0806, 12);
  expect(parseFrame(arp)).toEqual({ kind: "ignore", reason: "not-ipv4" });
  const otherPort = Buffer.from(frame);
  otherPort.writeUInt16BE(53, 36);
  expect(parseFrame(otherPort)).toEqual({ kind: "ignore", reason: "not-dhcp-port" });
  expect(parseFrame(frame.subarray(0, 46))).toEqual({ kind: "drop", reason: "bad-ip-header" });
  expect(parseFrame(frame.subarray(0, 40))).toEqual({ kind: "drop", reason: "short-frame" });
  expect(parseFrame(frame.subarray(0, 10))).toEqual({ kind: "drop", reason: "short-frame" });
  const fragment = Buffer.from(frame);
  fragment.writeUInt16BE(0x2000, 20);
  fragment.writeUInt16BE(0, 24);
  fragment.writeUInt16BE(internetChecksum(fragment, 14, 20), 24);
  expect(parseFrame(fragment)).toEqual({ kind: "drop", reason: "fragmented" });
});

describe("the packet socket's kernel filter", () => {
  test("is what libpcap compiles for 'ip and udp dst port 67' on Ethernet", () => {
    const compiled = compileFilter("ip and udp dst port 67", { linkType: "ethernet", snaplen: 262144 });
    expect(compiled.map((i) => [i.code, i.jt, i.jf, i.k])).toEqual(
      DHCP_SERVER_FILTER_INSTRUCTIONS.map((i) => [...i]),
    );
    expect(dhcpServerFilter().length).toBe(DHCP_SERVER_FILTER_INSTRUCTIONS.length * 8);
  });
});
