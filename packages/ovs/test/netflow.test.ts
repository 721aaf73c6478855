// NetFlow v5 from the userspace datapath to our collector, for real traffic. The sandbox runs in
// this test's own namespace (vmnet-isolate's private one), so ovs-vswitchd reaches the collector
// on loopback; the hosts are namespaces on veth pairs.
import { requireProgram } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type CollectedRecord, NetflowCollector, OvsSandbox } from "../src/index.js";
import { createHost, type Host, pingsEventually, shortName } from "./helpers.js";

describePrivileged("NetFlow v5 collector", () => {
  let sandbox: OvsSandbox;
  let collector: NetflowCollector;
  let h1: Host;
  let h2: Host;
  const br = shortName("nf");

  beforeAll(async () => {
    sandbox = await OvsSandbox.start();
    collector = await NetflowCollector.start();
    await sandbox.vswitch.addBridge({ name: br });
    h1 = await createHost("10.20.0.1/24", undefined);
    h2 = await createHost("10.20.0.2/24", undefined);
    await sandbox.vswitch.addPorts(br, [
      { name: h1.port, tag: 7 },
      { name: h2.port, tag: 7 },
    ]);
    await collector.attach(sandbox.vswitch, br, { activeTimeout: 1, engineType: 3, engineId: 9 });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await collector?.stop();
    await h1?.ns.remove();
    await h2?.ns.remove();
  });

  test("records for real UDP traffic carry addresses, ports, protocol and counts", async () => {
    expect(await pingsEventually(h1, h2.ip)).toBe(true);
    requireProgram("python3", "python3");
    // Seven 100-byte UDP datagrams from port 4000 to port 5000, sent back to back.
    const script = [
      "import socket, sys",
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
      "s.bind(('', 4000))",
      "for _ in range(7): s.sendto(bytes(100), (sys.argv[1], 5000))",
    ].join("\n");
    await h1.ns.exec("python3", ["-c", script, h2.ip]);
    const isOurs = (r: CollectedRecord) =>
      r.srcAddr === h1.ip &&
      r.dstAddr === h2.ip &&
      r.protocol === 17 &&
      r.srcPort === 4000 &&
      r.dstPort === 5000;
    const first = await collector.waitFor(isOurs, 30_000);
    // Give a split flow (active timeout 1 s) time to report its remainder.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const ours = collector.records.filter(isOurs);
    const packets = ours.reduce((n, r) => n + r.packets, 0);
    const bytes = ours.reduce((n, r) => n + r.bytes, 0);
    expect(packets).toBe(7);
    // OVS exports the datapath's byte counts, which include the Ethernet header: 14 + 20 (IPv4) +
    // 8 (UDP) + 100 per datagram (a router's NetFlow would count the 128 IP bytes).
    expect(bytes).toBe(7 * (14 + 128));
    expect(first.engineType).toBe(3);
    expect(first.engineId).toBe(9);
    expect(first.exporter).toMatch(/^127\.0\.0\.1:\d+$/);
    // ICMP echo from the ping shows up too.
    const icmp = await collector.waitFor(
      (r) => r.srcAddr === h1.ip && r.dstAddr === h2.ip && r.protocol === 1,
      15_000,
    );
    expect(icmp.packets).toBeGreaterThanOrEqual(1);
  });

  test("a malformed datagram is reported, not fatal", async () => {
    const invalid = new Promise<Error>((resolve) => collector.once("invalid", (error) => resolve(error)));
    const { createSocket } = await import("node:dgram");
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) =>
      socket.send(Buffer.from([0, 9, 0, 0]), collector.port, "127.0.0.1", () => resolve()),
    );
    socket.close();
    expect((await invalid).message).toMatch(/shorter than a NetFlow v5 header/);
    expect(collector.packets).toBeGreaterThan(0);
  });
});
