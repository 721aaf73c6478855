// Test helpers: a veth pair in the test's netns (IPv6 off, so the kernel sends nothing of its
// own), raw frames sent through a packet socket, and tcpdump/tshark reading our files.

import type { TestNetns } from "@vmnet/harness";
import { type NativeDatagramSocket, native, Rtnl } from "@vmnet/netlink-native";
import { execa } from "execa";

const AF_PACKET = 17;
const SOCK_RAW = 3;

export async function vethPair(netns: TestNetns, a = "a0", b = "a1"): Promise<void> {
  await netns.exec("sysctl", [
    "-qw",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
  ]);
  const r = await Rtnl.open({ netns: netns.name });
  try {
    await r.links.add({ kind: "veth", name: a, peer: { name: b }, up: true });
    await r.links.set(b, { up: true });
  } finally {
    r.close();
  }
}

export const EXPERIMENTAL_ETHERTYPE = 0x88b5;

/** An Ethernet frame: broadcast from 02:00:00:00:00:01, optional 802.1Q tags, then the payload. */
export function frame(opts: {
  seq: number;
  size?: number;
  vlans?: number[];
  etherType?: number;
  dst?: string;
}): Buffer {
  const size = opts.size ?? 60;
  const tags = opts.vlans ?? [];
  const buf = Buffer.alloc(Math.max(size, 14 + 4 * tags.length + 4), 0x41);
  Buffer.from((opts.dst ?? "ff:ff:ff:ff:ff:ff").split(":").map((h) => Number.parseInt(h, 16))).copy(buf, 0);
  Buffer.from([2, 0, 0, 0, 0, 1]).copy(buf, 6);
  let off = 12;
  for (const vid of tags) {
    buf.writeUInt16BE(0x8100, off);
    buf.writeUInt16BE((5 << 13) | vid, off + 2); // priority 5, so the whole TCI is checked
    off += 4;
  }
  buf.writeUInt16BE(opts.etherType ?? EXPERIMENTAL_ETHERTYPE, off);
  buf.writeUInt32BE(opts.seq, off + 2);
  return buf;
}

/** Sends frames out of `iface` through an AF_PACKET socket in the netns. */
export async function sendFrames(netns: TestNetns, iface: string, frames: Buffer[]): Promise<void> {
  const sock: NativeDatagramSocket = new (native().DatagramSocket)(
    AF_PACKET,
    SOCK_RAW,
    0,
    netns.path,
    () => {},
  );
  try {
    const r = await Rtnl.open({ netns: netns.name });
    const ifindex = await r.links.index(iface);
    r.close();
    const dest = Buffer.alloc(20);
    dest.writeUInt16LE(AF_PACKET, 0);
    dest.writeInt32LE(ifindex, 4);
    dest.writeUInt8(6, 11);
    // One at a time, so they leave (and are captured) in order.
    for (const f of frames) await sock.send(f, dest);
  } finally {
    sock.close();
  }
}

/** tcpdump -r: the lines it prints, and whatever it said on stderr besides the usual header. */
export async function tcpdumpRead(
  file: string,
  args: string[] = [],
): Promise<{ lines: string[]; warnings: string[] }> {
  const r = await execa("tcpdump", ["-nn", "-r", file, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`tcpdump -r ${file} failed: ${r.stderr}`);
  const warnings = r.stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^reading from file .*, link-type .*, snapshot length \d+$/.test(l));
  // One line per packet; tcpdump adds indented hex lines for payloads it does not know.
  return { lines: r.stdout.split("\n").filter((l) => l !== "" && !/^\s/.test(l)), warnings };
}

/**
 * tshark -r: the fields asked for, one array per packet. As root tshark always warns on stderr,
 * so warnings about the file are looked for in its exit code and in capinfos instead.
 */
export async function tsharkFields(file: string, fields: string[], filter?: string): Promise<string[][]> {
  const args = ["-n", "-r", file, "-T", "fields", ...fields.flatMap((f) => ["-e", f])];
  if (filter) args.push("-Y", filter);
  const r = await execa("tshark", args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`tshark -r ${file} failed (${r.exitCode}): ${r.stderr}`);
  const fileProblems = r.stderr
    .split("\n")
    .filter((l) => /appears to be damaged|cut short|isn't a capture file|unknown|invalid|malformed/i.test(l));
  if (fileProblems.length) throw new Error(`tshark complained about ${file}: ${fileProblems.join("; ")}`);
  if (r.stdout === "") return [];
  return r.stdout
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => l.split("\t"));
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Packets tcpdump -r counts in a (large) file, and anything it said besides its header line. */
export async function tcpdumpCount(file: string): Promise<{ count: number; warnings: string[] }> {
  const r = await execa("sh", ["-c", 'tcpdump -nn -q -r "$1" | grep -c "^[0-9]"', "sh", file], {
    reject: false,
  });
  const warnings = r.stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^reading from file .*, link-type .*, snapshot length \d+$/.test(l));
  return { count: Number(r.stdout.trim()), warnings };
}
