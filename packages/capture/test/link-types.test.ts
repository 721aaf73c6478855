// Filters are compiled for what the socket really delivers: raw IP on a tun device, and
// libpcap's live-Linux code on Ethernet, where the kernel has moved a received VLAN tag out of
// the frame into metadata (so `vlan` tests must use the kernel's ancillary loads, as tcpdump's do).
// Counts are checked against tcpdump capturing the same frames on the same interface.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireProgram, type TestNetns } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { openTap, Rtnl } from "@vmnet/netlink-native";
import { afterAll, beforeAll, expect } from "vitest";
import { decodeFrame, packets, readCaptureFile, startCapture } from "../src/index.js";
import { delay, frame, sendFrames, vethPair } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  requireProgram("tcpdump", "tcpdump");
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-lt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** tcpdump -w on `iface` with `filter` while `traffic` runs; the packets it wrote. */
async function tcpdumpCapture(netns: TestNetns, iface: string, filter: string, traffic: () => Promise<void>) {
  const file = join(dir, `tcpdump-${netns.name}-${filter.replace(/\W+/g, "_")}.pcap`);
  const td = netns.exec(
    "tcpdump",
    ["-i", iface, "-n", "--immediate-mode", "-U", "-w", file, ...filter.split(" ")],
    {
      reject: false,
      buffer: false,
    },
  );
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    td.stderr?.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes("listening on")) resolve();
    });
    td.then((r) => reject(new Error(`tcpdump exited early (${r.exitCode}): ${seen}`)));
  });
  await traffic();
  await delay(300);
  td.kill("SIGINT");
  await td;
  return (await readCaptureFile(file)).packets;
}

// Frames as a trunk carries them: tagged 10 and 20, untagged, and double-tagged (20 outside).
const trunk = () => [
  ...Array.from({ length: 5 }, (_, i) => frame({ seq: i, vlans: [10] })),
  ...Array.from({ length: 3 }, (_, i) => frame({ seq: 100 + i, vlans: [20] })),
  ...Array.from({ length: 4 }, (_, i) => frame({ seq: 200 + i })),
  ...Array.from({ length: 2 }, (_, i) => frame({ seq: 300 + i, vlans: [20, 30] })),
];

describePrivileged("filters for the link the ring really captures", () => {
  for (const [filter, expected] of [
    ["vlan", 10],
    ["vlan 10", 5],
    ["vlan 20", 5],
    ["vlan 20 and vlan 30", 2],
    ["not vlan", 4],
  ] as const) {
    test(`"${filter}" on a live trunk matches what tcpdump matches (${expected} of 14), tags kept in the file`, async ({
      netns,
    }) => {
      await vethPair(netns); // IPv6 off: nothing but the frames sent crosses the link
      const file = join(dir, `vlan-${netns.name}.pcapng`);
      const sent = trunk();
      let ours: Awaited<ReturnType<typeof startCapture>> | undefined;
      const theirs = await tcpdumpCapture(netns, "a1", filter, async () => {
        ours = await startCapture({ iface: "a1", netns: netns.name, file, filter, overwrite: true });
        await sendFrames(netns, "a0", sent);
      });
      const stats = await (ours as NonNullable<typeof ours>).stop();
      const read = await readCaptureFile(file);
      expect(theirs).toHaveLength(expected);
      expect(stats.packets).toBe(expected);
      // Same frames, byte for byte, tag included (the ring gives it apart; the file has it inline).
      expect(read.packets.map((p) => p.data)).toEqual(theirs.map((p) => p.data));
      const wanted = sent.filter((f) => theirs.some((t) => t.data.equals(f)));
      expect(read.packets.map((p) => p.data)).toEqual(wanted);
    });
  }

  test("a filtered capture started while its link is down (a tap before its VM) works once it is up", async ({
    netns,
  }) => {
    await vethPair(netns);
    await netns.exec("ip", ["link", "set", "a1", "down"]);
    await netns.exec("ip", ["link", "set", "lo", "down"]); // nothing up to borrow in this netns
    const file = join(dir, `down-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, filter: "vlan 10" });
    const all = await startCapture({
      iface: "any",
      netns: netns.name,
      file: join(dir, `down-any-${netns.name}.pcap`),
      filter: "vlan 20",
    });
    await netns.exec("ip", ["link", "set", "a1", "up"]);
    await sendFrames(netns, "a0", trunk());
    expect(await cap.stop()).toMatchObject({ packets: 5 });
    // "any" sees each frame leaving a0 (tag inline) and arriving at a1 (tag in metadata).
    expect(await all.stop()).toMatchObject({ packets: 10 });
    const read = await readCaptureFile(file);
    expect(read.packets.map((p) => decodeFrame(p.data).ethernet?.vlans.map((v) => v.vid))).toEqual(
      Array.from({ length: 5 }, () => [10]),
    );
  });

  test("a live stream with a VLAN filter gets the tagged frames, tag re-inserted", async ({ netns }) => {
    await vethPair(netns);
    const live = packets({ iface: "a1", netns: netns.name, filter: "vlan 10", limits: { packets: 5 } });
    await live.linkType;
    await sendFrames(netns, "a0", trunk());
    const got: number[][] = [];
    for await (const p of live) got.push(p.frame?.ethernet?.vlans.map((v) => v.vid) ?? []);
    expect(got).toEqual(Array.from({ length: 5 }, () => [10]));
  });

  test("a tun device: filters are compiled for raw IP, so they match its packets", async ({ netns }) => {
    await netns.exec("sysctl", [
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    const tap = await openTap({ name: "tn0", netns: netns.name, mode: "tun" });
    try {
      const r = await Rtnl.open({ netns: netns.name });
      await r.links.set("tn0", { up: true });
      await r.addresses.add("tn0", "10.78.0.1/24");
      r.close();
      const icmp = join(dir, `tun-icmp-${netns.name}.pcap`);
      const udp = join(dir, `tun-udp-${netns.name}.pcap`);
      const filter = "icmp and dst host 10.78.0.2";
      let capIcmp: Awaited<ReturnType<typeof startCapture>> | undefined;
      let capUdp: Awaited<ReturnType<typeof startCapture>> | undefined;
      const theirs = await tcpdumpCapture(netns, "tn0", filter, async () => {
        capIcmp = await startCapture({ iface: "tn0", netns: netns.name, file: icmp, filter });
        capUdp = await startCapture({ iface: "tn0", netns: netns.name, file: udp, filter: "udp" });
        expect(capIcmp.linkType).toBe("raw");
        await netns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "1", "10.78.0.2"], { reject: false });
      });
      const si = await (capIcmp as NonNullable<typeof capIcmp>).stop();
      const su = await (capUdp as NonNullable<typeof capUdp>).stop();
      expect(theirs).toHaveLength(3);
      expect(si.packets).toBe(3);
      expect(su.packets).toBe(0);
      const read = await readCaptureFile(icmp);
      expect(read.interfaces[0]?.linkType).toBe(101);
      expect(read.packets.map((p) => p.data)).toEqual(theirs.map((p) => p.data));
      expect(read.packets.map((p) => decodeFrame(p.data, "raw").ipv4?.dst)).toEqual([
        "10.78.0.2",
        "10.78.0.2",
        "10.78.0.2",
      ]);
    } finally {
      tap.close();
    }
  });

  test("a tun device that is down when the capture starts: raw IP filter, packets once it is up", async ({
    netns,
  }) => {
    await netns.exec("sysctl", [
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    const tap = await openTap({ name: "tn1", netns: netns.name, mode: "tun" });
    try {
      const file = join(dir, `tun-down-${netns.name}.pcap`);
      const cap = await startCapture({
        iface: "tn1",
        netns: netns.name,
        file,
        filter: "icmp and dst host 10.79.0.2",
      });
      const r = await Rtnl.open({ netns: netns.name });
      await r.links.set("tn1", { up: true });
      await r.addresses.add("tn1", "10.79.0.1/24");
      r.close();
      await netns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "1", "10.79.0.2"], { reject: false });
      expect(await cap.stop()).toMatchObject({ packets: 2 });
    } finally {
      tap.close();
    }
  });
});
