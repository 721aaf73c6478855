// Real frames through the userspace datapath: hosts are network namespaces joined to a sandbox
// switch (in its own namespace) by veth pairs. VLAN isolation, trunks, mirrors and QinQ are checked
// with ping and tcpdump, as a user of the switch would see them.
import { createNetns, requireProgram, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OvsSandbox } from "../src/index.js";
import { createHost, type Host, pings, pingsEventually, shortName, tcpdump } from "./helpers.js";

/** Sends `count` raw frames carrying an 802.1Q tag (the kernel here has no 8021q module). */
async function sendTagged(host: Host, vlan: number, count: number): Promise<void> {
  requireProgram("python3", "python3");
  const script = [
    "import socket, sys, time",
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
    "s.bind((sys.argv[1], 0))",
    "src = bytes.fromhex(sys.argv[2].replace(':', ''))",
    "frame = b'\\xff' * 6 + src + b'\\x81\\x00' + int(sys.argv[3]).to_bytes(2, 'big') + b'\\x88\\xb5' + b'vmnet-qinq' + bytes(36)",
    "for _ in range(int(sys.argv[4])):",
    "    s.send(frame); time.sleep(0.2)",
  ].join("\n");
  await host.ns.exec("python3", ["-c", script, host.ifname, host.mac, String(vlan), String(count)]);
}

describePrivileged("traffic through the userspace datapath", () => {
  let sw: TestNetns;
  let sandbox: OvsSandbox;
  const hosts: Host[] = [];
  let h1: Host;
  let h2: Host;
  let h3: Host;
  let trunk: Host;
  let tap: Host;
  let qinq: Host;
  const br = shortName("br");

  beforeAll(async () => {
    sw = await createNetns("sw");
    sandbox = await OvsSandbox.start({ netns: sw.name });
    await sandbox.vswitch.addBridge({ name: br });
    h1 = await createHost("10.0.0.1/24", sw.name);
    h2 = await createHost("10.0.0.2/24", sw.name);
    h3 = await createHost("10.0.0.3/24", sw.name);
    trunk = await createHost("10.0.0.4/24", sw.name);
    tap = await createHost("10.0.0.5/24", sw.name);
    qinq = await createHost("10.0.0.6/24", sw.name);
    hosts.push(h1, h2, h3, trunk, tap, qinq);
    await sandbox.vswitch.addPorts(br, [
      { name: h1.port, tag: 10 },
      { name: h2.port, tag: 10 },
      { name: h3.port, tag: 20 },
      { name: trunk.port, trunks: [10, 20, 100], vlanMode: "trunk" },
      // A mirror output port belongs to no VLAN: OVS sends it the copies as they are on the bridge.
      { name: tap.port },
      { name: qinq.port, tag: 100, vlanMode: "dot1q-tunnel" },
    ]);
  });
  afterAll(async () => {
    await sandbox?.stop();
    for (const host of hosts) await host.ns.remove();
    await sw?.remove();
  });

  test("same VLAN pings, different VLAN does not; the MAC table learns per VLAN", async () => {
    expect(await pingsEventually(h1, h2.ip)).toBe(true);
    expect(await pings(h1, h3.ip, 2)).toBe(false);
    const fdb = await sandbox.ofctl.fdbShow(br);
    expect(fdb).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ vlan: 10, mac: h1.mac }),
        expect.objectContaining({ vlan: 10, mac: h2.mac }),
      ]),
    );
    expect(fdb.some((e) => e.mac === h1.mac && e.vlan !== 10)).toBe(false);
  });

  test("a trunk port carries the access ports' frames tagged", async () => {
    await h1.ns.exec("ip", ["neigh", "flush", "all"]);
    // Only h1's ARP (the ping's own look-up), not any other frame on VLAN 10.
    const capture = tcpdump(
      trunk.ns,
      trunk.ifname,
      ["vlan", "10", "and", "arp", "and", "ether", "src", h1.mac],
      1,
    );
    await capture.ready;
    await pings(h1, h2.ip, 2);
    const lines = await capture.lines;
    expect(lines.join("\n")).toMatch(/vlan 10, p 0, ethertype ARP/);
    expect(lines.join("\n")).toContain(h1.mac);
  });

  test("a select-all mirror delivers copies to its output port", async () => {
    await sandbox.vswitch.addMirror(br, { name: "watch", selectAll: true, outputPort: tap.port });
    // A flow already cached in the userspace datapath (h1 to h2, from the first test) keeps its old
    // actions while it stays busy; purging the datapath flows makes the next packet take the mirror.
    await sandbox.ofctl.purgeDatapathFlows();
    try {
      // Copies leave the output port with their VLAN tag. cur_cfg says the bridge has the mirror,
      // but flows already cached in the datapath pick it up a little later: retry for a while.
      let text = "";
      for (let attempt = 0; attempt < 8 && !text.includes("echo reply"); attempt++) {
        // Only the copies of h1's and h2's pings (tagged, between their two addresses).
        const filter = ["vlan", "and", "icmp", "and", "host", h1.ip, "and", "host", h2.ip];
        const capture = tcpdump(tap.ns, tap.ifname, filter, 2, 2);
        await capture.ready;
        await pings(h1, h2.ip, 1);
        text = (await capture.lines).join("\n");
      }
      expect(text).toMatch(new RegExp(`vlan 10, .*${h1.ip} > ${h2.ip}: ICMP echo request`));
      expect(text).toMatch(new RegExp(`${h2.ip} > ${h1.ip}: ICMP echo reply`));
    } finally {
      await sandbox.vswitch.deleteMirror(br, "watch");
    }
  });

  test("QinQ: a dot1q-tunnel port pushes its outer tag over the customer's tag", async () => {
    // Two tags need vlan-limit 2 (the default, 1, treats the customer tag as payload).
    await sandbox.vswitch.setOtherConfig({ "vlan-limit": "2" });
    // Only our own frames: from the QinQ host with outer tag 100 and inner tag 20 (libpcap's
    // "vlan" keyword also sees tags the kernel took off into metadata), never an IPv6 MLD report or
    // router solicitation that the host might send when its link comes up (tagged 100 only).
    const filter = ["ether", "src", qinq.mac, "and", "vlan", "100", "and", "vlan", "20"];
    const capture = tcpdump(trunk.ns, trunk.ifname, filter, 1);
    await capture.ready;
    await sendTagged(qinq, 20, 10);
    const text = (await capture.lines).join("\n");
    // Outer tag 100 (802.1ad by default), inner customer tag 20.
    expect(text).toMatch(/ethertype 802\.1Q-QinQ.*vlan 100.*ethertype 802\.1Q.*vlan 20/);
  });
});
