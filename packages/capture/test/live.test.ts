import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { Rtnl } from "@vmnet/netlink-native";
import { beforeAll, expect } from "vitest";
import { batches, type LivePacket, packets } from "../src/index.js";
import { dhcpDiscover } from "./frames.js";
import { delay, frame, sendFrames, vethPair } from "./helpers.js";

beforeAll(() => {
  requireProgram("ping", "iputils-ping");
  requireProgram("trafgen", "netsniff-ng");
});

describePrivileged("live packets", () => {
  test("ARP, ICMP echo and IPv6 neighbour discovery from real pings, decoded", async ({ netns }) => {
    // Two namespaces, so pings cross the veth instead of staying local.
    const peer = await createNetns("vpeer");
    try {
      await netns.exec("ip", ["link", "add", "a0", "type", "veth", "peer", "name", "a1", "netns", peer.name]);
      for (const [ns, dev, v4, v6] of [
        [netns, "a0", "10.9.0.1/24", "fd00:9::1/64"],
        [peer, "a1", "10.9.0.2/24", "fd00:9::2/64"],
      ] as const) {
        const r = await Rtnl.open({ netns: ns.name });
        try {
          await r.links.set(dev, { up: true });
          await r.addresses.add(dev, v4);
          await r.addresses.add(dev, v6, { nodad: true });
        } finally {
          r.close();
        }
      }
      await pingsAcross(netns, peer);
    } finally {
      await peer.remove();
    }
  });
});

async function pingsAcross(netns: TestNetns, peer: TestNetns): Promise<void> {
  const live = packets({ iface: "a1", netns: peer.name, filter: "arp or icmp or icmp6", direction: "in" });
  const seen: LivePacket[] = [];
  const collecting = (async () => {
    for await (const p of live) seen.push(p);
  })();
  await delay(100);
  await netns.exec("ping", ["-c", "2", "-i", "0.2", "-I", "a0", "10.9.0.2"], { reject: false });
  // DAD may still be running on fresh addresses: retry until a reply comes.
  for (let i = 0; i < 20; i++) {
    const p = await netns.exec("ping", ["-6", "-c", "1", "-W", "1", "-I", "a0", "fd00:9::2"], {
      reject: false,
    });
    if (p.exitCode === 0) break;
    await delay(200);
  }
  await delay(100);
  const stats = await live.stop();
  await collecting;
  expect(stats.packets).toBe(seen.length);
  const frames = seen.map((p) => p.frame);
  const arp = frames.find((f) => f?.arp?.operation === 1);
  expect(arp?.arp).toMatchObject({
    senderIp: "10.9.0.1",
    targetIp: "10.9.0.2",
    targetMac: "00:00:00:00:00:00",
  });
  const echo = frames.find((f) => f?.ipv4?.protocol === 1);
  expect(echo?.ipv4).toMatchObject({ src: "10.9.0.1", dst: "10.9.0.2", ttl: 64 });
  // (Duplicate address detection for the link-local addresses may be seen too.)
  const ns = frames.find((f) => f?.icmpv6?.type === 135 && f.icmpv6.nd?.target === "fd00:9::2");
  expect(ns?.icmpv6?.nd).toMatchObject({ target: "fd00:9::2" });
  expect(ns?.icmpv6?.nd?.options.sourceLinkLayerAddress).toBe(ns?.ethernet?.src);
  expect(ns?.ipv6?.hopLimit).toBe(255);
  const echo6 = frames.find((f) => f?.icmpv6?.type === 128);
  expect(echo6?.ipv6).toMatchObject({ src: "fd00:9::1", dst: "fd00:9::2", nextHeader: 58 });
  for (const p of seen) {
    expect(p.ifindex).toBeGreaterThan(0);
    expect(p.seconds).toBeGreaterThan(1_600_000_000);
  }
}

describePrivileged("live packets, one netns", () => {
  test("a DHCPv4 DISCOVER on the wire is decoded for a server", async ({ netns }) => {
    await vethPair(netns);
    const live = packets({ iface: "a1", netns: netns.name, filter: "udp port 67", limits: { packets: 1 } });
    const got: LivePacket[] = [];
    const collecting = (async () => {
      for await (const p of live) got.push(p);
    })();
    await delay(100);
    await sendFrames(netns, "a0", [dhcpDiscover()]);
    await collecting; // the packet limit ends the loop by itself
    expect(got).toHaveLength(1);
    expect(got[0]?.frame?.dhcpv4).toMatchObject({
      op: 1,
      xid: 0x12345678,
      chaddr: "02:00:00:00:00:01",
      messageType: "DISCOVER",
      requestedIp: "10.0.0.50",
      hostname: "vm1",
      parameterRequestList: [1, 3, 6, 15, 121],
    });
    expect(got[0]?.frame?.udp).toMatchObject({ srcPort: 68, dstPort: 67 });
  });

  test("JS gets batches, not a call per packet, and breaking out stops the capture", async ({ netns }) => {
    await vethPair(netns);
    const live = batches({ iface: "a1", netns: netns.name, filter: "ether proto 0x88b5" });
    // Bursts of 200k frames until the loop below has its 50k: the capture opens on libuv's pool,
    // and on a loaded machine one burst could be over before the capture is attached.
    let sending = true;
    const gen = (async () => {
      while (sending) {
        const r = await netns.exec("trafgen", ["-o", "a0", "-c", "-", "--cpus", "1", "-n", "200000", "-q"], {
          input: "{ 0xff,0xff,0xff,0xff,0xff,0xff, 0x02,0,0,0,0,1, c16(0x88b5), fill(0x41, 50) }\n",
          reject: false,
        });
        if (r.exitCode !== 0) throw new Error(`trafgen: exit ${r.exitCode}: ${r.stderr}`);
      }
    })();
    let count = 0;
    let calls = 0;
    try {
      for await (const batch of live) {
        calls++;
        count += batch.count;
        for (const p of batch) expect(p.data.length).toBe(64);
        if (count >= 50000) break;
      }
    } finally {
      // A failed assertion above must not leave the bursts running.
      sending = false;
    }
    await gen;
    expect(calls).toBeLessThan(count / 100);
    const stats = await live.stop();
    expect(stats.packets).toBeGreaterThanOrEqual(count);
  });

  test("an AbortSignal stops a live stream", async ({ netns }) => {
    await vethPair(netns);
    const ac = new AbortController();
    const live = packets({ iface: "a1", netns: netns.name, signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    for await (const _ of live) {
      // nothing is sent
    }
    expect(Date.now() - t0).toBeLessThan(5000);
    await sendFrames(netns, "a0", [frame({ seq: 1 })]);
  });
});
