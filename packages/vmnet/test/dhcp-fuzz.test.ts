// Hostile input: the decoder and the server's whole receive path (framing, decoding, decisions,
// reply building) fed random and mutated frames. Nothing may throw except the decoder's own
// DhcpDecodeError; every frame ends as ignored, dropped-with-a-reason, noted or answered; and the
// real server keeps answering after a storm of garbage on its socket.
import { describePrivileged } from "@vmnet/harness/vitest";
import fc from "fast-check";
import { afterEach, expect, test, vi } from "vitest";
import { decodeClasslessRoutes, encodeClasslessRoutes } from "../src/dhcp/classless-routes.js";
import { decodeDomainSearch, encodeDomainSearch } from "../src/dhcp/dns-search.js";
import { buildFrame, parseFrame } from "../src/dhcp/frame.js";
import { type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { BROADCAST_MAC, macBytes } from "../src/dhcp/mac.js";
import { DhcpDecodeError, OPTION } from "../src/dhcp/options.js";
import { decodeDhcpMessage, encodeDhcpMessage, MESSAGE_TYPE } from "../src/dhcp/packet.js";
import { receiveFrame } from "../src/dhcp/receive.js";
import { serveLease } from "../src/dhcp/served-lease.js";
import type { DhcpDropReason } from "../src/dhcp/types.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { ip4, RawClient, u32 } from "./support/dhcp-raw-client.js";

const lease: DhcpLease = {
  clientMac: "0a:58:0a:09:00:05",
  address: "10.9.0.5",
  prefixLength: 32,
  gateway: "169.254.1.1",
  routes: [{ dst: "0.0.0.0/0" }, { dst: "10.0.0.0/8", gw: "10.9.0.1" }],
  nameservers: ["10.96.0.10"],
  search: ["a.example.com", "example.com"],
  mtu: 1400,
  leaseTimeS: 3600,
};
const client = { served: serveLease(lease, "169.254.254.2") };
const listener = {
  mac: macBytes("02:00:00:00:00:fe"),
  clients: new Map([[macBytes(lease.clientMac).toString("hex"), client]]),
};

/** Valid requests of every type, as frames from the guest: the seeds mutations start from. */
function validFrames(): Buffer[] {
  const mac = macBytes(lease.clientMac);
  const address = ip4(lease.address);
  const specs: [number, number, [number, Buffer][]][] = [
    [MESSAGE_TYPE.DISCOVER, 0, [[OPTION.PARAMETER_REQUEST_LIST, Buffer.from([1, 3, 6, 121, 119, 26])]]],
    [
      MESSAGE_TYPE.REQUEST,
      0,
      [
        [OPTION.SERVER_ID, u32(ip4("169.254.254.2"))],
        [OPTION.REQUESTED_ADDRESS, u32(address)],
      ],
    ],
    [MESSAGE_TYPE.REQUEST, 0, [[OPTION.REQUESTED_ADDRESS, u32(ip4("10.1.1.1"))]]],
    [MESSAGE_TYPE.REQUEST, address, []],
    [MESSAGE_TYPE.INFORM, address, []],
    [MESSAGE_TYPE.RELEASE, address, []],
    [MESSAGE_TYPE.DECLINE, 0, [[OPTION.REQUESTED_ADDRESS, u32(address)]]],
  ];
  return specs.map(([messageType, ciaddr, options]) =>
    buildFrame({
      srcMac: mac,
      dstMac: BROADCAST_MAC,
      srcIp: ciaddr,
      dstIp: 0xffffffff,
      srcPort: 68,
      dstPort: 67,
      payload: encodeDhcpMessage({
        op: 1,
        xid: 7,
        flags: 0,
        ciaddr,
        yiaddr: 0,
        siaddr: 0,
        giaddr: 0,
        chaddr: mac,
        messageType,
        options,
      }),
    }),
  );
}
const seeds = validFrames();

/** A seed with bytes overwritten, cut short or extended: most reach deep into the decoder. */
const mutatedFrame = fc
  .record({
    seed: fc.constantFrom(...seeds),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const b = Buffer.concat([seed, tail]);
    // Keep the Ethernet/IP/UDP headers mostly intact so edits land in the DHCP message too.
    for (const [at, value] of edits) b[at % b.length] = value;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

const anyFrame = fc.oneof(
  fc.uint8Array({ maxLength: 1600 }).map((a) => Buffer.from(a)),
  mutatedFrame,
  mutatedFrame.map((b) => {
    // Re-seal the IP header checksum so the mutation gets past framing.
    if (b.length >= 34) {
      b.writeUInt16BE(0, 24);
      let sum = 0;
      for (let i = 14; i < 34; i += 2) sum += b.readUInt16BE(i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      b.writeUInt16BE(~sum & 0xffff, 24);
    }
    return b;
  }),
);

test("the decoder throws nothing but DhcpDecodeError, whatever the bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 700 }),
        mutatedFrame.map((b) => b.subarray(42)),
      ),
      (bytes) => {
        try {
          decodeDhcpMessage(bytes);
        } catch (e) {
          if (!(e instanceof DhcpDecodeError)) throw e;
        }
      },
    ),
    { numRuns: 20_000 },
  );
});

test("the receive path never throws; each frame is ignored, dropped with a reason, noted or answered with a valid reply", () => {
  const reasons = new Map<DhcpDropReason | "ignored" | "noted" | "reply", number>();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      const outcome = receiveFrame(frame, listener);
      const key = outcome.kind === "dropped" ? outcome.reason : outcome.kind;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      expect(key).not.toBe("internal-error");
      if (outcome.kind === "reply") {
        // The reply is a well-formed frame carrying a decodable BOOTREPLY for this client.
        const parsed = parseFrame(Buffer.from(outcome.frame).fill(0x00, 36, 37).fill(67, 37, 38));
        expect(parsed.kind).toBe("dhcp");
        if (parsed.kind === "dhcp") {
          const m = decodeDhcpMessage(parsed.datagram.payload);
          expect(m.op).toBe(2);
          expect(m.chaddr.subarray(0, 6)).toEqual(macBytes(lease.clientMac));
        }
      }
    }),
    { numRuns: 30_000 },
  );
  // The mutations reached every layer: framing drops, decoder drops, decisions and replies.
  expect([...reasons.keys()]).toEqual(
    expect.arrayContaining(["ignored", "reply", "bad-ip-checksum", "bad-option", "unknown-client"]),
  );
});

test("round trips: search lists and classless routes decode to what was encoded", () => {
  const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
  fc.assert(
    fc.property(
      fc.array(
        fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join(".")),
        { maxLength: 20 },
      ),
      (names) => {
        expect(decodeDomainSearch(encodeDomainSearch(names))).toEqual(names);
      },
    ),
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          destination: fc.nat({ max: 0xffffffff }),
          prefixLength: fc.integer({ min: 0, max: 32 }),
          router: fc.nat({ max: 0xffffffff }),
        }),
        { maxLength: 40 },
      ),
      (routes) => {
        const decoded = decodeClasslessRoutes(encodeClasslessRoutes(routes));
        expect(decoded?.map((r) => [r.prefixLength, r.router])).toEqual(
          routes.map((r) => [r.prefixLength, r.router]),
        );
      },
    ),
  );
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describePrivileged("DhcpServer under hostile frames", () => {
  test("3000 random and mutated frames on its socket: no crash, drops counted, still answering", async () => {
    const net = await podAndVm(lease.clientMac);
    cleanups.push(() => net.remove());
    const server = await DhcpServer.start({
      netns: net.pod.name,
      bindings: [{ listenOn: net.podIf, lease }],
    });
    cleanups.push(() => server.stop());
    const raw = await RawClient.open(net.vm, net.vmIf, lease.clientMac);
    cleanups.push(() => raw.close());
    const frames = fc
      .sample(anyFrame, { numRuns: 3000, seed: 42 })
      .filter((f) => f.length >= 14 && f.length <= 1514);
    for (const frame of frames) await raw.sendFrame(frame).catch(() => undefined);
    // The kernel's BPF program lets only IPv4/UDP frames to port 67 (first fragments) through.
    const passing = frames.filter(passesDhcpServerFilter).length;
    expect(passing).toBeGreaterThan(300);
    await vi.waitFor(() => expect(server.stats().total.frames).toBeGreaterThan(passing * 0.9), {
      timeout: 10_000,
    });
    const stats = server.stats();
    // Frames the filter rejects never woke the server.
    expect(stats.total.frames).toBeLessThanOrEqual(passing);
    expect(stats.total.dropped["internal-error"]).toBeUndefined();
    expect(stats.total.droppedTotal).toBeGreaterThan(100);
    // The rate limit may hold the guest's next message back for a moment: the server answers.
    await new Promise((r) => setTimeout(r, 2100));
    const offer = await raw.ask({ type: MESSAGE_TYPE.DISCOVER });
    expect(offer?.message.messageType).toBe(MESSAGE_TYPE.OFFER);
  });
});

/** What the socket's kernel filter (src/dhcp/socket-filter.ts) lets through, in plain code. */
function passesDhcpServerFilter(f: Uint8Array): boolean {
  const b = Buffer.from(f);
  if (b.length < 24 || b.readUInt16BE(12) !== 0x0800 || b[23] !== 17) return false;
  if ((b.readUInt16BE(20) & 0x1fff) !== 0) return false;
  const ihl = ((b[14] as number) & 0x0f) * 4;
  if (b.length < 14 + ihl + 4) return false;
  return b.readUInt16BE(14 + ihl + 2) === 67;
}
