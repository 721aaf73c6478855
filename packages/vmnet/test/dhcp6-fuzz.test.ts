// Hostile input for the IPv6 side: the DHCPv6 decoder, the DHCPv6 server's and the advertiser's
// whole receive paths (Ethernet, IPv6 and its extension headers, UDP/ICMPv6, the message, the
// decision, the reply) fed random and mutated frames. Nothing may throw except the decoder's own
// Dhcp6DecodeError; every frame ends ignored, dropped with a counted reason, or answered with a
// well-formed reply; and the real servers keep answering after a storm of garbage.
import { describePrivileged } from "@vmnet/harness/vitest";
import fc from "fast-check";
import { afterEach, expect, test, vi } from "vitest";
import { macBytes } from "../src/dhcp/mac.js";
import {
  buildIpv6Frame,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  parseIpv6Frame,
  udpDatagram,
  upperLayerChecksum,
} from "../src/dhcp6/frame6.js";
import {
  Dhcp6DecodeError,
  type Dhcp6DropReason,
  type Dhcp6Lease,
  Dhcp6Server,
  decodeDhcp6Message,
  encodeDhcp6Message,
  DHCP6_MESSAGE as MSG,
  DHCP6_OPTION as OPT,
} from "../src/dhcp6/index.js";
import {
  ALL_DHCP_AGENTS,
  ALL_ROUTERS,
  linkLocalFromMac,
  multicastMac,
  parseIpv6,
  solicitedNodeAddress,
} from "../src/dhcp6/ipv6.js";
import { iaAddrOption, iaNaOption, option } from "../src/dhcp6/message.js";
import { receiveFrame6 } from "../src/dhcp6/receive.js";
import { serveLease6 } from "../src/dhcp6/served-lease.js";
import { RouterAdvertiser } from "../src/ra/index.js";
import { receiveNd } from "../src/ra/receive.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { RawClient6 } from "./support/ipv6-raw-client.js";

const lease: Dhcp6Lease = {
  clientMac: "0a:58:0a:09:00:06",
  address: "2001:db8:9::6",
  prefixLength: 64,
  nameservers: ["2001:db8:53::1"],
  search: ["a.example.com", "example.com"],
  preferredLifetimeS: 3600,
  validLifetimeS: 7200,
};
const MAC = macBytes(lease.clientMac);
const LL = linkLocalFromMac(MAC);
const DUID = Buffer.from("000300010200000000fe", "hex");
const client = { served: serveLease6(lease), source: linkLocalFromMac(macBytes("02:00:00:00:00:fe")) };
const listener = {
  mac: macBytes("02:00:00:00:00:fe"),
  duid: DUID,
  clients: new Map([[MAC.toString("hex"), client]]),
};
const ROUTER_LL = parseIpv6("fe80::5eff:fe10:1") as Buffer;

function dhcp6Frame(type: number, options: Buffer[], hopByHop = false): Buffer {
  const upper = udpDatagram(
    546,
    547,
    encodeDhcp6Message(type, 0x123456, [
      option(OPT.clientId, Buffer.concat([Buffer.from([0, 3, 0, 1]), MAC])),
      ...options,
    ]),
  );
  const frame = buildIpv6Frame({
    srcMac: MAC,
    dstMac: multicastMac(ALL_DHCP_AGENTS),
    srcIp: LL,
    dstIp: ALL_DHCP_AGENTS,
    hopLimit: 1,
    protocol: IPPROTO_UDP,
    upper,
  });
  if (!hopByHop) return frame;
  // The same datagram behind an (empty, padded) Hop-by-Hop header.
  const ext = Buffer.from([IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0]);
  const out = Buffer.concat([frame.subarray(0, 54), ext, frame.subarray(54)]);
  out[20] = 0;
  out.writeUInt16BE(frame.readUInt16BE(18) + 8, 18);
  return out;
}

function ndFrame(type: number, body: Buffer, dst: Buffer): Buffer {
  return buildIpv6Frame({
    srcMac: MAC,
    dstMac: multicastMac(dst),
    srcIp: LL,
    dstIp: dst,
    hopLimit: 255,
    protocol: IPPROTO_ICMPV6,
    upper: Buffer.concat([Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]), body]),
  });
}

const address = parseIpv6(lease.address) as Buffer;
const ia = iaNaOption(1, 0, 0, [iaAddrOption(address, 0, 0)]);
const sid = option(OPT.serverId, DUID);
const seeds: Buffer[] = [
  dhcp6Frame(MSG.solicit, [ia]),
  dhcp6Frame(MSG.solicit, [ia, option(OPT.rapidCommit)], true),
  dhcp6Frame(MSG.request, [sid, ia]),
  dhcp6Frame(MSG.renew, [sid, ia]),
  dhcp6Frame(MSG.rebind, [ia]),
  dhcp6Frame(MSG.release, [sid, ia]),
  dhcp6Frame(MSG.decline, [sid, ia]),
  dhcp6Frame(MSG.confirm, [ia]),
  dhcp6Frame(MSG.informationRequest, [option(OPT.oro, Buffer.from([0, 23, 0, 24]))]),
  ndFrame(133, Buffer.from([1, 1, ...MAC]), ALL_ROUTERS),
  ndFrame(135, Buffer.concat([ROUTER_LL, Buffer.from([1, 1, ...MAC])]), solicitedNodeAddress(ROUTER_LL)),
];

const mutatedFrame = fc
  .record({
    seed: fc.constantFrom(...seeds),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 10 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    tail: fc.uint8Array({ maxLength: 48 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const b = Buffer.concat([seed, tail]);
    for (const [at, value] of edits) b[at % b.length] = value;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

/** Re-seals the ICMPv6 checksum so mutations reach the ND checks behind it. */
function resealed(b: Buffer): Buffer {
  const p = parseIpv6Frame(b);
  if (p.kind === "packet" && p.packet.protocol === IPPROTO_ICMPV6 && p.packet.upper.length >= 4) {
    p.packet.upper.writeUInt16BE(0, 2);
    p.packet.upper.writeUInt16BE(
      upperLayerChecksum(p.packet.srcIp, p.packet.dstIp, IPPROTO_ICMPV6, p.packet.upper),
      2,
    );
  }
  return b;
}

const anyFrame = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
  mutatedFrame,
  mutatedFrame.map(resealed),
);

test("the DHCPv6 decoder throws nothing but Dhcp6DecodeError, whatever the bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        mutatedFrame.map((b) => b.subarray(62)),
      ),
      (bytes) => {
        try {
          decodeDhcp6Message(bytes);
        } catch (e) {
          if (!(e instanceof Dhcp6DecodeError)) throw e;
        }
      },
    ),
    { numRuns: 20_000 },
  );
});

test("the DHCPv6 receive path never throws; every frame is ignored, dropped with a reason, or answered well-formed", () => {
  const outcomes = new Map<Dhcp6DropReason | "ignored" | "reply", number>();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      const outcome = receiveFrame6(frame, listener);
      const key = outcome.kind === "dropped" ? outcome.reason : outcome.kind;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      expect(key).not.toBe("internal-error");
      if (outcome.kind === "reply") {
        const parsed = parseIpv6Frame(outcome.frame);
        expect(parsed.kind).toBe("packet");
        if (parsed.kind !== "packet") return;
        expect(
          upperLayerChecksum(parsed.packet.srcIp, parsed.packet.dstIp, IPPROTO_UDP, parsed.packet.upper),
        ).toBe(0);
        expect(parsed.packet.upper.readUInt16BE(2)).toBe(546);
        const m = decodeDhcp6Message(parsed.packet.upper.subarray(8));
        expect([MSG.advertise, MSG.reply]).toContain(m.type);
        expect(m.options.find((o) => o.code === OPT.serverId)?.data).toEqual(DUID);
        expect(parsed.packet.dstMac).toEqual(MAC);
      }
    }),
    { numRuns: 30_000 },
  );
  expect([...outcomes.keys()]).toEqual(
    expect.arrayContaining([
      "ignored",
      "reply",
      "bad-option",
      "unknown-client",
      "bad-ip-header",
      "not-client-message",
    ]),
  );
});

test("the ND receive path never throws; it yields RS, NS, ignored or a drop reason", () => {
  const kinds = new Map<string, number>();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      const got = receiveNd(frame);
      const key = got.kind === "dropped" ? got.reason : got.kind;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
      if (got.kind === "ns") expect(got.target).toHaveLength(16);
    }),
    { numRuns: 30_000 },
  );
  expect([...kinds.keys()]).toEqual(
    expect.arrayContaining(["ignored", "rs", "ns", "bad-checksum", "bad-option"]),
  );
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What the kernel filters (src/dhcp6/socket-filter6.ts) let through, in plain code. */
function passes(b: Buffer, icmpTypes?: number[]): boolean {
  if (b.length < 21 || b.readUInt16BE(12) !== 0x86dd) return false;
  const next = b[20] as number;
  if ([0, 43, 44, 60].includes(next)) return true;
  if (icmpTypes) return next === 58 && b.length > 54 && icmpTypes.includes(b[54] as number);
  return next === 17 && b.length >= 58 && b.readUInt16BE(56) === 547;
}

describePrivileged("the IPv6 servers under hostile frames", () => {
  test("3000 random and mutated frames on each socket: no crash, drops counted, the kernel filter holds, still answering", async () => {
    const net = await podAndVm(lease.clientMac);
    cleanups.push(() => net.remove());
    const server = await Dhcp6Server.start({
      netns: net.pod.name,
      bindings: [{ listenOn: net.podIf, lease }],
    });
    cleanups.push(() => server.stop());
    const ra = await RouterAdvertiser.start({
      netns: net.pod.name,
      bindings: [
        {
          listenOn: net.podIf,
          config: { routerMac: "02:00:5e:10:00:01", prefixes: [{ prefix: "2001:db8:9::/64" }] },
        },
      ],
    });
    cleanups.push(() => ra.stop());
    const raw = await RawClient6.open(net.vm, net.vmIf, lease.clientMac);
    cleanups.push(() => raw.close());
    const frames = fc
      .sample(anyFrame, { numRuns: 3000, seed: 6 })
      .filter((f) => f.length >= 14 && f.length <= 1514);
    for (const frame of frames) await raw.sendFrame(frame).catch(() => undefined);
    const toServer = frames.filter((f) => passes(f)).length;
    const toRa = frames.filter((f) => passes(f, [133, 135])).length;
    expect(toServer).toBeGreaterThan(300);
    expect(toRa).toBeGreaterThan(200);
    await vi.waitFor(
      () => {
        expect(server.stats().total.frames).toBeGreaterThan(toServer * 0.9);
        expect(ra.stats().total.frames).toBeGreaterThan(toRa * 0.9);
      },
      { timeout: 10_000 },
    );
    const s = server.stats();
    const r = ra.stats();
    // Frames the kernel filter rejects never woke either server.
    expect(s.total.frames).toBeLessThanOrEqual(toServer);
    expect(r.total.frames).toBeLessThanOrEqual(toRa);
    expect(s.total.dropped["internal-error"]).toBeUndefined();
    expect(r.total.dropped["internal-error"]).toBeUndefined();
    expect(s.total.droppedTotal).toBeGreaterThan(100);
    expect(r.total.droppedTotal).toBeGreaterThan(50);
    await new Promise((res) => setTimeout(res, 2100));
    const adv = await raw.ask(MSG.solicit, [ia]);
    expect(adv?.message?.type).toBe(MSG.advertise);
    const before = raw.received.length;
    await raw.sendFrame(seeds[9] as Buffer);
    expect(
      await raw.waitFor((x) => raw.received.indexOf(x) >= before && x.icmp?.[0] === 134, 2000),
    ).toBeDefined();
  }, 60_000);
});
