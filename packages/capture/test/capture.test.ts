import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireProgram } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect } from "vitest";
import { decodeFrame, readCaptureFile, startCapture } from "../src/index.js";
import { EXPERIMENTAL_ETHERTYPE, frame, sendFrames, tcpdumpRead, tsharkFields, vethPair } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  requireProgram("tcpdump", "tcpdump");
  requireProgram("tshark", "tshark");
  requireProgram("capinfos", "tshark");
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describePrivileged("capture to files", () => {
  for (const format of ["pcap", "pcapng"] as const) {
    test(`${format}: every frame sent is in the file, which tcpdump and tshark read cleanly`, async ({
      netns,
    }) => {
      await vethPair(netns);
      const file = join(dir, `count-${netns.name}.${format}`);
      const cap = await startCapture({ iface: "a1", netns: netns.name, file, format });
      const sent = Array.from({ length: 500 }, (_, seq) => frame({ seq, size: 60 + (seq % 200) }));
      await sendFrames(netns, "a0", sent);
      const stats = await cap.stop();
      expect(stats).toMatchObject({ reason: "stopped", packets: 500, received: 500, drops: 0 });
      expect(stats.bytes).toBe(sent.reduce((n, f) => n + f.length, 0));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(file).size).toBe(stats.fileBytes);

      const td = await tcpdumpRead(file, ["-e"]);
      expect(td.warnings).toEqual([]);
      expect(td.lines).toHaveLength(500);
      expect(td.lines[0]).toContain(`ethertype Unknown (0x${EXPERIMENTAL_ETHERTYPE.toString(16)})`);
      const ts = await tsharkFields(file, ["frame.len", "eth.src"]);
      expect(ts).toHaveLength(500);
      expect(ts.map((r) => Number(r[0]))).toEqual(sent.map((f) => f.length));

      const read = await readCaptureFile(file);
      expect(read.format).toBe(format);
      expect(read.packets.map((p) => p.data)).toEqual(sent);
      expect(read.interfaces[0]).toMatchObject({ linkType: 1, snaplen: 1600 });
      if (format === "pcapng") {
        expect(read.interfaces[0]?.name).toBe("a1");
        expect(read.statistics).toHaveLength(1);
        expect(read.statistics[0]).toMatchObject({ filterAccept: 500n, osDrop: 0n, usrDeliv: 500n });
        // Wireshark's capinfos sees the interface block and the statistics block.
        const info = (await execa("capinfos", [file])).stdout;
        expect(info).toMatch(/Name = a1/);
        expect(info).toMatch(/Capture length = 1600/);
        expect(info).toMatch(/Number of stat entries = 1/);
        expect(info).toMatch(/Number of packets = 500/);
      }
    });
  }

  test("a filter keeps exactly the matching frames, and pcapng records the expression", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `filter-${netns.name}.pcapng`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, filter: "ether proto 0x88b6" });
    const sent = Array.from({ length: 300 }, (_, seq) =>
      frame({ seq, etherType: seq % 3 === 0 ? 0x88b6 : EXPERIMENTAL_ETHERTYPE }),
    );
    await sendFrames(netns, "a0", sent);
    const stats = await cap.stop();
    expect(stats.packets).toBe(100);
    const read = await readCaptureFile(file);
    expect(read.packets.map((p) => p.data)).toEqual(sent.filter((_, i) => i % 3 === 0));
    expect(read.interfaces[0]?.filter).toBe("ether proto 0x88b6");
    const ts = await tsharkFields(file, ["eth.type"]);
    expect(new Set(ts.map((r) => r[0]))).toEqual(new Set(["0x88b6"]));
  });

  test("raw BPF from the caller works like the expression it came from", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `raw-${netns.name}.pcap`);
    // ldh [12]; jeq #0x88b6 ? accept 96 bytes : drop
    const program = [
      { code: 0x28, jt: 0, jf: 0, k: 12 },
      { code: 0x15, jt: 0, jf: 1, k: 0x88b6 },
      { code: 0x06, jt: 0, jf: 0, k: 96 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, filter: program });
    await sendFrames(netns, "a0", [
      frame({ seq: 1, size: 200, etherType: 0x88b6 }),
      frame({ seq: 2, size: 200 }),
      frame({ seq: 3, size: 50, etherType: 0x88b6 }),
    ]);
    await cap.stop();
    const read = await readCaptureFile(file);
    // The program's accept value cuts packets too: 96 bytes of the first, all of the short one.
    expect(read.packets.map((p) => [p.data.length, p.originalLength])).toEqual([
      [96, 200],
      [50, 50],
    ]);
  });

  test("the snap length is respected, and recorded; original lengths are kept", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `snap-${netns.name}.pcapng`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, snaplen: 64 });
    const sizes = [60, 64, 65, 100, 1000, 1514];
    await sendFrames(
      netns,
      "a0",
      sizes.map((size, seq) => frame({ seq, size })),
    );
    const stats = await cap.stop();
    expect(stats.bytes).toBe(sizes.reduce((n, s) => n + Math.min(s, 64), 0));
    const read = await readCaptureFile(file);
    expect(read.interfaces[0]?.snaplen).toBe(64);
    expect(read.packets.map((p) => [p.data.length, p.originalLength])).toEqual(
      sizes.map((s) => [Math.min(s, 64), s]),
    );
    const ts = await tsharkFields(file, ["frame.cap_len", "frame.len"]);
    expect(ts.map((r) => r.map(Number))).toEqual(sizes.map((s) => [Math.min(s, 64), s]));
    const td = await tcpdumpRead(file);
    expect(td.warnings).toEqual([]);
    expect(td.lines).toHaveLength(sizes.length);
  });

  test("VLAN tags the kernel moved out of the frame are put back (captured on a trunk)", async ({
    netns,
  }) => {
    await vethPair(netns);
    const file = join(dir, `vlan-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, snaplen: 62 });
    // Tagged frames written raw into a0 arrive on a1 with the tag in skb metadata (the kernel
    // strips it on receive); one untagged, one double-tagged (QinQ keeps the inner tag inline).
    const sent = [
      frame({ seq: 1, vlans: [10] }),
      frame({ seq: 2 }),
      frame({ seq: 3, vlans: [20, 30] }),
      frame({ seq: 4, vlans: [4094], size: 100 }),
    ];
    await sendFrames(netns, "a0", sent);
    await cap.stop();
    const read = await readCaptureFile(file);
    expect(read.packets.map((p) => p.data)).toEqual(sent.map((f) => f.subarray(0, 62)));
    expect(read.packets.map((p) => p.originalLength)).toEqual(sent.map((f) => f.length));
    expect(read.packets.map((p) => decodeFrame(p.data).ethernet?.vlans.map((v) => [v.vid, v.pcp]))).toEqual([
      [[10, 5]],
      [],
      [
        [20, 5],
        [30, 5],
      ],
      [[4094, 5]],
    ]);
    const td = await tcpdumpRead(file, ["-e"]);
    expect(td.warnings).toEqual([]);
    expect(td.lines[0]).toMatch(/vlan 10, p 5/);
    expect(td.lines[2]).toMatch(/vlan 20, p 5.*vlan 30, p 5/);
    const ts = await tsharkFields(file, ["vlan.id"]);
    expect(ts.map((r) => r[0] ?? "")).toEqual(["10", "", "20,30", "4094"]);
  });

  test("promisc: the interface is promiscuous while the capture runs, and not after", async ({ netns }) => {
    await vethPair(netns);
    const promiscuity = async () => (await netns.ipJson(["-d", "link", "show", "a1"]))[0].promiscuity;
    expect(await promiscuity()).toBe(0);
    const file = join(dir, `promisc-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, promisc: true });
    expect(await promiscuity()).toBe(1);
    await sendFrames(netns, "a0", [frame({ seq: 1, dst: "02:00:00:00:00:99" })]);
    expect(await cap.stop()).toMatchObject({ packets: 1 });
    expect(await promiscuity()).toBe(0);
  });

  test("limits: a packet count ends the capture by itself", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `limit-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, limits: { packets: 10 } });
    await sendFrames(
      netns,
      "a0",
      Array.from({ length: 25 }, (_, seq) => frame({ seq })),
    );
    const stats = await cap.done;
    expect(stats).toMatchObject({ reason: "packets", packets: 10 });
    expect((await readCaptureFile(file)).packets).toHaveLength(10);
  });

  test("limits: bytes and seconds", async ({ netns }) => {
    await vethPair(netns);
    const f1 = join(dir, `bytes-${netns.name}.pcap`);
    const byBytes = await startCapture({ iface: "a1", netns: netns.name, file: f1, limits: { bytes: 1000 } });
    const f2 = join(dir, `secs-${netns.name}.pcap`);
    const t0 = Date.now();
    const bySeconds = await startCapture({
      iface: "a1",
      netns: netns.name,
      file: f2,
      limits: { seconds: 0.5 },
    });
    await sendFrames(
      netns,
      "a0",
      Array.from({ length: 30 }, (_, seq) => frame({ seq, size: 100 })),
    );
    expect(await byBytes.done).toMatchObject({ reason: "bytes", packets: 10, bytes: 1000 });
    expect(await bySeconds.done).toMatchObject({ reason: "seconds", packets: 30 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
  });

  test("every interface of a netns ('any'): pcapng has one interface block per interface", async ({
    netns,
  }) => {
    await vethPair(netns);
    await vethPair(netns, "b0", "b1");
    const file = join(dir, `any-${netns.name}.pcapng`);
    const cap = await startCapture({ iface: "any", netns: netns.name, file, filter: "ether proto 0x88b5" });
    await sendFrames(netns, "a0", [frame({ seq: 1 })]);
    await sendFrames(netns, "b0", [frame({ seq: 2 })]);
    const stats = await cap.stop();
    // Each frame is seen leaving one end and arriving at the other.
    expect(stats.packets).toBe(4);
    const read = await readCaptureFile(file);
    expect(read.interfaces.map((i) => i.name).sort()).toEqual(["a0", "a1", "b0", "b1"]);
    const names = read.packets.map((p) => read.interfaces[p.interfaceId]?.name);
    expect(names).toEqual(expect.arrayContaining(["a0", "a1", "b0", "b1"]));
    expect((await tcpdumpRead(file)).warnings).toEqual([]);
  });
});
