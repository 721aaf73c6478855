import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, describe, expect, test as plainTest } from "vitest";
import {
  compilePcapFilter,
  decodeBpf,
  encodeBpf,
  formatBpfDecimal,
  LibpcapMissingError,
  NetlinkInputError,
  native,
  openTap,
  type PacketBatch,
  PacketCapture,
  PcapFilterError,
  parseBpfDecimal,
  Rtnl,
} from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmnet-capn-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("capture: filter compilation through a run-time loaded libpcap", () => {
  plainTest("an expression compiles; the binary and text forms round-trip", () => {
    const prog = compilePcapFilter("arp", { snaplen: 96 });
    expect(formatBpfDecimal(prog)).toBe("4\n40 0 0 12\n21 0 1 2054\n6 0 0 96\n6 0 0 0");
    expect(decodeBpf(encodeBpf(prog))).toEqual(prog);
    expect(parseBpfDecimal(formatBpfDecimal(prog))).toEqual(prog);
  });

  plainTest("raw IP link type (tun) compiles without a link header", () => {
    expect(formatBpfDecimal(compilePcapFilter("ip", { linkType: "raw" }))).toBe(
      "5\n48 0 0 0\n84 0 0 240\n21 0 1 64\n6 0 0 1600\n6 0 0 0",
    );
  });

  plainTest("bad syntax: PcapFilterError with libpcap's one-line message", () => {
    expect(() => compilePcapFilter("port 99999999")).toThrow(PcapFilterError);
    try {
      compilePcapFilter("port 99999999");
    } catch (e) {
      expect((e as PcapFilterError).reason).toMatch(/^illegal port number 99999999 > 65535$/);
    }
  });

  plainTest("no libpcap: an error naming the Debian package", () => {
    let error: unknown;
    try {
      compilePcapFilter("arp", { libraries: ["libpcap-missing.so.9"] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LibpcapMissingError);
    expect((error as Error).message).toContain("apt-get install libpcap0.8");
    expect((error as Error).message).toContain("libpcap-missing.so.9");
    // The default library is still there afterwards.
    expect(compilePcapFilter("arp")).toHaveLength(4);
  });
});

describe("capture: sizes that would wrap in 32 bits are refused, naming the field", () => {
  plainTest("compilePcapFilter: snaplen -1, 0, 2^40, 1.5 (once wrapped silently)", () => {
    for (const snaplen of [-1, 0, 2 ** 40, 2 ** 31 - 256, 1.5]) {
      expect(() => compilePcapFilter("arp", { snaplen }), String(snaplen)).toThrow(NetlinkInputError);
      try {
        compilePcapFilter("arp", { snaplen });
      } catch (e) {
        expect(e).toMatchObject({ field: "snaplen" });
      }
    }
    // The addon checks too (it is reachable without the TS layer).
    const addon = native() as unknown as { compileFilter: (...a: unknown[]) => Buffer };
    expect(() => addon.compileFilter("arp", 1, 2 ** 40, true, 0)).toThrow(/snaplen/);
    expect(() => addon.compileFilter("arp", 1, -1, true, 0)).toThrow(/snaplen/);
  });

  plainTest(
    "PacketCapture.open: snaplen 2^31-256 is refused at once (it once spun a pool thread forever)",
    async () => {
      // 2^31-255 and up: the block size doubled past 2^31 to 0 and never reached the need.
      for (const snaplen of [2 ** 31 - 200, 2 ** 31 - 256, 2 ** 31 - 1]) {
        const opened = PacketCapture.open({ iface: "lo", snaplen }).then(
          () => "opened",
          (e: unknown) => e,
        );
        const result = await Promise.race([opened, new Promise((r) => setTimeout(() => r("hung"), 3000))]);
        expect(result, String(snaplen)).toBeInstanceOf(NetlinkInputError);
        expect(result).toMatchObject({ field: "snaplen" });
      }
      // And the addon itself, given the same without the TS check:
      const Session = (native() as unknown as { CaptureSession: new (o: object, cb: () => void) => unknown })
        .CaptureSession;
      expect(() => new Session({ iface: "lo", snaplen: 2 ** 31 - 256 }, () => {})).toThrow(/snaplen/);
      expect(() => new Session({ iface: "lo", blockSize: 2 ** 40 }, () => {})).toThrow(/blockSize/);
    },
  );
});

const AF_PACKET = 17;
const SOCK_RAW = 3;

async function send(netnsPath: string, ifindex: number, frames: Buffer[]): Promise<void> {
  const sock = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, netnsPath, () => {});
  const dest = Buffer.alloc(20);
  dest.writeUInt16LE(AF_PACKET, 0);
  dest.writeInt32LE(ifindex, 4);
  try {
    for (const f of frames) await sock.send(f, dest);
  } finally {
    sock.close();
  }
}

function frame(seq: number, size = 60): Buffer {
  const b = Buffer.alloc(size, 0x42);
  b.fill(0xff, 0, 6);
  Buffer.from([2, 0, 0, 0, 0, 1]).copy(b, 6);
  b.writeUInt16BE(0x88b5, 12);
  b.writeUInt32BE(seq, 14);
  return b;
}

describePrivileged("capture: native ring", () => {
  test("live batches carry every packet with its lengths, time and interface", async ({ netns }) => {
    const r = await Rtnl.open({ netns: netns.name });
    await r.links.add({ kind: "veth", name: "c0", peer: { name: "c1" }, up: true });
    await r.links.set("c1", { up: true });
    const c0 = await r.links.index("c0");
    const c1 = await r.links.index("c1");
    r.close();
    const batches: PacketBatch[] = [];
    const cap = await PacketCapture.open({
      netns: netns.name,
      iface: "c1",
      filter: compilePcapFilter("ether proto 0x88b5", { snaplen: 100 }),
      snaplen: 100,
      onBatch: (b) => batches.push(b),
    });
    expect(cap.ifindex).toBe(c1);
    expect(cap.linkType).toBe("ethernet");
    const sent = Array.from({ length: 200 }, (_, i) => frame(i, 60 + i));
    const before = Date.now() / 1000;
    await send(netns.path, c0, sent);
    const stats = await cap.stop();
    expect(stats).toMatchObject({ reason: "stopped", packets: 200, received: 200, drops: 0, liveDrops: 0 });
    const got = batches.flatMap((b) => [...b]);
    expect(batches.length).toBeLessThan(200);
    expect(got.map((p) => p.data)).toEqual(sent.map((f) => f.subarray(0, 100)));
    expect(got.map((p) => p.originalLength)).toEqual(sent.map((f) => f.length));
    for (const p of got) {
      expect(p.ifindex).toBe(c1);
      expect(p.seconds + p.nanoseconds / 1e9).toBeGreaterThanOrEqual(Math.floor(before));
    }
    expect(stats.endNs).toBeGreaterThan(stats.startNs);
  });

  test("a tun device captures as raw IP (LINKTYPE_RAW in the file)", async ({ netns }) => {
    const tap = await openTap({ name: "tun9", netns: netns.name, mode: "tun" });
    try {
      const r = await Rtnl.open({ netns: netns.name });
      await r.links.set("tun9", { up: true });
      await r.addresses.add("tun9", "10.77.0.1/24");
      r.close();
      const file = join(dir, "tun.pcap");
      // Only our pings are counted (a tun device may send IPv6 router solicitations of its own):
      // the expression is compiled for raw IP, the tun's real framing.
      const cap = await PacketCapture.open({
        netns: netns.name,
        iface: "tun9",
        file,
        format: "pcap",
        filterExpression: "icmp and dst host 10.77.0.2",
      });
      expect(cap.linkType).toBe("raw");
      await netns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "1", "10.77.0.2"], { reject: false });
      const stats = await cap.stop();
      expect(stats.packets).toBe(2);
      const data = readFileSync(file);
      expect(data.readUInt32LE(20)).toBe(101);
      expect(data[24 + 16]).toBe(0x45); // the first packet starts with its IPv4 header
    } finally {
      tap.close();
    }
  });

  test("a slow consumer loses live batches (counted), never file packets", async ({ netns }) => {
    const r = await Rtnl.open({ netns: netns.name });
    await r.links.add({ kind: "veth", name: "c0", peer: { name: "c1" }, up: true });
    await r.links.set("c1", { up: true });
    const c0 = await r.links.index("c0");
    r.close();
    const file = join(dir, "slow.pcapng");
    let delivered = 0;
    const cap = await PacketCapture.open({
      netns: netns.name,
      iface: "c1",
      file,
      filter: compilePcapFilter("ether proto 0x88b5"),
      liveBatchBytes: 4096,
      liveMaxPendingBytes: 8192,
      onBatch: (b) => {
        delivered += b.count;
        const until = Date.now() + 20; // a consumer that blocks the loop
        while (Date.now() < until) {}
      },
    });
    await send(
      netns.path,
      c0,
      Array.from({ length: 2000 }, (_, i) => frame(i, 200)),
    );
    const stats = await cap.stop();
    expect(stats.packets).toBe(2000);
    expect(stats.liveDrops).toBeGreaterThan(0);
    expect(delivered + stats.liveDrops).toBe(2000);
  });

  test("start() reports the ring's link type and ifindex even when the capture ends at once", async ({
    netns,
  }) => {
    // The ring thread resets the ring when the capture ends; start() used to read it after the
    // thread was running (a data race). With a 1 ms limit the thread ends right away.
    const tap = await openTap({ name: "tun8", netns: netns.name, mode: "tun" });
    try {
      const r = await Rtnl.open({ netns: netns.name });
      const index = await r.links.index("tun8");
      r.close();
      for (let i = 0; i < 200; i++) {
        const cap = await PacketCapture.open({
          netns: netns.name,
          iface: "tun8",
          limits: { seconds: 0.001 },
          ring: { blockSize: 4096, blocks: 2 },
        });
        expect(cap.linkType).toBe("raw");
        expect(cap.ifindex).toBe(index);
        expect((await cap.done).reason).toBe("seconds");
      }
    } finally {
      tap.close();
    }
  });

  test("a filter expression that does not compile rejects start() with PcapFilterError", async ({
    netns,
  }) => {
    const e = await PacketCapture.open({
      netns: netns.name,
      iface: "lo",
      filterExpression: "udp and port",
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(PcapFilterError);
    expect(e).toMatchObject({
      expression: "udp and port",
      reason: "can't parse filter expression: syntax error",
    });
  });

  test("start() twice is refused", async ({ netns }) => {
    const s = new (
      native() as unknown as {
        CaptureSession: new (o: object, cb: () => void) => { start(): Promise<unknown>; stop(): void };
      }
    ).CaptureSession({ netns: netns.path, iface: "lo" }, () => {});
    const first = s.start();
    expect(() => s.start()).toThrow(/EALREADY/);
    await first;
    s.stop();
  });
});
