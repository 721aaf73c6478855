#!/usr/bin/env node
// Records what tcpdump compiles for each expression below into test/fixtures/filters.json: the
// program `tcpdump -ddd` prints when reading an empty Ethernet pcap with snap length 1600 (so no
// interface is involved, and the netmask is 0, as for any file). The tests compare our compiled
// programs with these, and with tcpdump itself when it is installed.
// Run: node scripts/record-filters.mjs   (needs tcpdump: apt-get install tcpdump)
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SNAPLEN = 1600;
export const EXPRESSIONS = [
  "tcp port 80",
  "udp",
  "arp",
  "icmp",
  "ip6",
  "icmp6",
  "host 10.0.0.1",
  "net 10.0.0.0/8",
  "src host 192.168.1.1 and dst port 53",
  "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
  "ether host 02:00:00:00:00:01",
  "ether broadcast",
  "vlan 10",
  "vlan and udp",
  "udp port 67 or udp port 68",
  "icmp6 and ip6[40] == 135",
  "portrange 1000-2000",
  "less 100",
  "greater 1000",
  "ether proto 0x88b5",
  "not arp and not ip6",
  "ip proto 47",
  "ip host 10.1.2.3 and not tcp",
  "multicast",
  "ip6 net 2001:db8::/32",
  "ip broadcast",
  "dst net 172.16.0.0 mask 255.240.0.0",
  "tcp[13] & 2 != 0 and dst port 22",
];

/** An empty pcap file: Ethernet, the given snap length. */
export function emptyPcap(dir, snaplen = SNAPLEN) {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(1, 20);
  const path = join(dir, "empty.pcap");
  writeFileSync(path, h);
  return path;
}

/** `tcpdump -ddd` for one expression, against an empty pcap. */
export function tcpdumpProgram(pcap, expression) {
  return execFileSync("tcpdump", ["-r", pcap, "-ddd", expression], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const here = dirname(fileURLToPath(import.meta.url));
  const pcap = emptyPcap(mkdtempSync(join(tmpdir(), "vmnet-filters-")));
  const version = execFileSync("tcpdump", ["--version"], { encoding: "utf8" }).trim().split("\n");
  const fixtures = {
    recordedWith: "node scripts/record-filters.mjs",
    tcpdump: version[0],
    libpcap: version[1],
    linkType: "ethernet",
    snaplen: SNAPLEN,
    netmask: 0,
    filters: EXPRESSIONS.map((expression) => ({ expression, ddd: tcpdumpProgram(pcap, expression) })),
  };
  const out = join(here, "..", "test", "fixtures", "filters.json");
  writeFileSync(out, `${JSON.stringify(fixtures, null, 2)}\n`);
  console.log(`wrote ${fixtures.filters.length} programs to ${out}`);
}
