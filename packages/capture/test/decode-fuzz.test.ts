// The frame decoders and the capture file reader take bytes from the wire and from files anyone
// may hand over: random and mutated input must decode or fail with DecodeError (TruncatedError,
// CaptureFileError), never anything else, never hang, and never produce more than the input
// holds (packets and payloads are views into the input).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  CaptureFileError,
  DecodeError,
  decodeArp,
  decodeDhcpv4,
  decodeEthernet,
  decodeFrame,
  decodeIcmpv6,
  decodeIpv4,
  decodeIpv6,
  decodeTcp,
  decodeUdp,
  decodeVlanTag,
  parseCaptureFile,
} from "../src/index.js";
import { dhcpDiscover, ethernet, ipv4Udp } from "./frames.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
// Generous for a 2-core machine under load; a hang shows up as far more than this.
const MAX_MS = 250;

function onlyDecodeErrors<T>(what: string, input: Buffer, run: () => T): T | undefined {
  const t0 = performance.now();
  let out: T | undefined;
  try {
    out = run();
  } catch (error) {
    if (!(error instanceof DecodeError)) {
      throw new Error(
        `${what} threw ${(error as Error)?.name}: ${(error as Error)?.message} on ${input.toString("hex")}`,
      );
    }
  }
  const ms = performance.now() - t0;
  if (ms > MAX_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms on ${input.length} bytes`);
  return out;
}

/** Output size: every buffer it holds, plus the text of everything else. */
function outputSize(value: unknown): number {
  let bytes = 0;
  const text = JSON.stringify(value, (_k, v) => {
    if (Buffer.isBuffer(v) || (v && typeof v === "object" && (v as { type?: string }).type === "Buffer")) {
      bytes += Buffer.isBuffer(v) ? v.length : ((v as { data: number[] }).data?.length ?? 0);
      return 0;
    }
    if (v instanceof Map) return [...v.entries()];
    if (typeof v === "bigint") return String(v);
    return v;
  });
  return bytes + (text?.length ?? 0);
}

// Seeds: real frames of every kind the decoders know.
const tcpSyn = (() => {
  const ip = Buffer.alloc(40);
  ip[0] = 0x45;
  ip.writeUInt16BE(40, 2);
  ip[8] = 64;
  ip[9] = 6;
  ip[32] = 0x50; // data offset 5
  ip[33] = 0x02; // SYN
  return ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800, ip);
})();
const arpRequest = ethernet(
  "ff:ff:ff:ff:ff:ff",
  "02:00:00:00:00:01",
  0x0806,
  Buffer.from("0001080006040001020000000001" + "0a000001" + "000000000000" + "0a000002", "hex"),
);
const ns = (() => {
  const ip6 = Buffer.alloc(40 + 32);
  ip6[0] = 0x60;
  ip6.writeUInt16BE(32, 4);
  ip6[6] = 58;
  ip6[7] = 255;
  ip6[40] = 135;
  ip6[40 + 24] = 1; // source link-layer address option
  ip6[40 + 25] = 1;
  return ethernet("33:33:ff:00:00:02", "02:00:00:00:00:01", 0x86dd, ip6);
})();
const tagged = (() => {
  const f = Buffer.from(ipv4Udp("10.0.0.1", "10.0.0.2", 1000, 2000, Buffer.from("hello")));
  const h = Buffer.from("ffffffffffff020000000001810000640800", "hex");
  return Buffer.concat([h, f]);
})();
const frames = [dhcpDiscover(), tcpSyn, arpRequest, ns, tagged];

function pcapFile(packets: Buffer[], le = true): Buffer {
  const head = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  w32(head, 0xa1b2c3d4, 0);
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(2, 4);
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(4, 6);
  w32(head, 1600, 16);
  w32(head, 1, 20);
  const recs = packets.map((p, i) => {
    const r = Buffer.alloc(16);
    w32(r, 1700000000 + i, 0);
    w32(r, 1234, 4);
    w32(r, p.length, 8);
    w32(r, p.length, 12);
    return Buffer.concat([r, p]);
  });
  return Buffer.concat([head, ...recs]);
}

function block(type: number, body: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const total = 12 + body.length + pad.length;
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(total, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(total, 0);
  return Buffer.concat([h, body, pad, t]);
}
function option(code: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(data.length, 2);
  return Buffer.concat([h, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}
function pcapngFile(packets: Buffer[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigUInt64LE(0xffffffffffffffffn, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  idb.writeUInt32LE(1600, 4);
  const idbOpts = Buffer.concat([
    option(2, Buffer.from("a1")),
    option(9, Buffer.from([9])),
    option(11, Buffer.from("\0vlan 10")),
    option(0, Buffer.alloc(0)),
  ]);
  const epbs = packets.map((p, i) => {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(0, 0);
    b.writeUInt32LE(0x17a, 4);
    b.writeUInt32LE(i, 8);
    b.writeUInt32LE(p.length, 12);
    b.writeUInt32LE(p.length, 16);
    return block(6, Buffer.concat([b, p]));
  });
  const isb = Buffer.alloc(12);
  const stats = Buffer.alloc(8);
  stats.writeBigUInt64LE(5n, 0);
  const spb = Buffer.alloc(4);
  spb.writeUInt32LE(frames[0]?.length ?? 0, 0);
  return Buffer.concat([
    block(0x0a0d0d0a, shb),
    block(1, Buffer.concat([idb, idbOpts])),
    ...epbs,
    block(3, Buffer.concat([spb, frames[0] as Buffer])),
    block(5, Buffer.concat([isb, option(6, stats), option(8, stats), option(0, Buffer.alloc(0))])),
  ]);
}
const files = [pcapFile(frames), pcapFile(frames, false), pcapngFile(frames)];

/** A seed with some bytes changed, perhaps cut short or extended. */
function mutated(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ seed, edits, cut, tail }) => {
      const b = Buffer.from(seeds[seed] as Buffer);
      for (const [at, v] of edits) if (b.length) b[at % b.length] = v;
      const c = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
      return Buffer.concat([c, Buffer.from(tail)]);
    });
}
const randomBytes = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a));

describe("decoder fuzzing (fast-check)", () => {
  test("the seeds decode (so the mutations start from real frames and files)", () => {
    expect(decodeFrame(frames[0] as Buffer).dhcpv4?.messageType).toBe("DISCOVER");
    expect(decodeFrame(tcpSyn).tcp?.flags.syn).toBe(true);
    expect(decodeFrame(arpRequest).arp?.targetIp).toBe("10.0.0.2");
    expect(decodeFrame(ns).icmpv6?.nd?.options.sourceLinkLayerAddress).toBeDefined();
    expect(decodeFrame(tagged).ethernet?.vlans[0]?.vid).toBe(100);
    for (const f of files) expect(parseCaptureFile(f).packets.length).toBeGreaterThanOrEqual(frames.length);
    expect(parseCaptureFile(files[2] as Buffer).statistics[0]).toMatchObject({
      filterAccept: 5n,
      usrDeliv: 5n,
    });
  });

  const layers: [string, (b: Buffer) => unknown][] = [
    ["decodeEthernet", decodeEthernet],
    ["decodeVlanTag", decodeVlanTag],
    ["decodeArp", decodeArp],
    ["decodeIpv4", decodeIpv4],
    ["decodeIpv6", decodeIpv6],
    ["decodeIcmpv6", decodeIcmpv6],
    ["decodeUdp", decodeUdp],
    ["decodeTcp", decodeTcp],
    ["decodeDhcpv4", decodeDhcpv4],
  ];

  test("every layer decoder: random bytes decode or throw DecodeError, output bounded by input", () => {
    fc.assert(
      fc.property(randomBytes, (buf) => {
        for (const [name, decode] of layers) {
          const out = onlyDecodeErrors(name, buf, () => decode(buf));
          if (out !== undefined) expect(outputSize(out)).toBeLessThanOrEqual(64 * buf.length + 4096);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("decodeFrame: mutated real frames (Ethernet and raw IP) never throw; errors are reported", () => {
    const ipPayloads = frames.map((f) => decodeEthernet(f).payload);
    fc.assert(
      fc.property(mutated(frames), mutated(ipPayloads), (frame, ip) => {
        for (const [buf, link] of [
          [frame, "ethernet"],
          [ip, "raw"],
        ] as const) {
          const out = onlyDecodeErrors("decodeFrame", buf, () => decodeFrame(buf, link));
          expect(out).toBeDefined(); // decodeFrame reports, it does not throw
          expect(outputSize(out)).toBeLessThanOrEqual(64 * buf.length + 4096);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the capture file reader: mutated pcap/pcapng and random bytes give CaptureFileError or views", () => {
    fc.assert(
      fc.property(fc.oneof(mutated(files), randomBytes), (buf) => {
        const out = onlyDecodeErrors("parseCaptureFile", buf, () => parseCaptureFile(buf));
        if (out === undefined) return;
        // Every packet is a view into the input: together no more than the input.
        let bytes = 0;
        for (const p of out.packets) {
          expect(p.data.buffer).toBe(buf.buffer);
          bytes += p.data.length;
        }
        expect(bytes).toBeLessThanOrEqual(buf.length);
        expect(out.packets.length + out.interfaces.length + out.statistics.length).toBeLessThanOrEqual(
          Math.ceil(buf.length / 12) + 1,
        );
      }),
      { numRuns: RUNS },
    );
  });

  test("CaptureFileError is a DecodeError naming the format", () => {
    const e = (() => {
      try {
        parseCaptureFile(Buffer.from("not a capture file"));
      } catch (error) {
        return error;
      }
    })();
    expect(e).toBeInstanceOf(CaptureFileError);
    expect(e).toBeInstanceOf(DecodeError);
    expect(e).toMatchObject({ layer: "pcap" });
  });
});
