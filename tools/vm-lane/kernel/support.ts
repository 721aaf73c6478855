// Two "hosts" (network namespaces) joined by a veth pair, for the full-kernel lane. IPv6 is off
// on every link so only the test's own traffic crosses them.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createNetns, deleteNetns, Rtnl } from "@vmnet/netlink-native";

export const run = promisify(execFile);

export interface Pair {
  a: string;
  b: string;
  rtnlA: Rtnl;
  rtnlB: Rtnl;
  close(): Promise<void>;
}

let counter = 0;

export async function sysctl(netns: string, key: string, value: string): Promise<void> {
  await run("ip", ["netns", "exec", netns, "sysctl", "-q", "-w", `${key}=${value}`]);
}

/** a:va 10.77.N.1/24 <-> b:vb 10.77.N.2/24, both up, IPv6 off. */
export async function veth(): Promise<Pair & { ipA: string; ipB: string }> {
  const n = ++counter;
  const a = `kl-a${process.pid % 10000}-${n}`;
  const b = `kl-b${process.pid % 10000}-${n}`;
  await createNetns(a);
  await createNetns(b);
  for (const ns of [a, b]) {
    await sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
    await sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
  }
  const rtnlA = await Rtnl.open({ netns: a });
  const rtnlB = await Rtnl.open({ netns: b });
  await rtnlA.links.add({ kind: "veth", name: "va", peer: { name: "vb", netns: b } });
  const ipA = `10.77.${n}.1`;
  const ipB = `10.77.${n}.2`;
  await rtnlA.addresses.add("va", `${ipA}/24`);
  await rtnlB.addresses.add("vb", `${ipB}/24`);
  await rtnlA.links.up("va");
  await rtnlB.links.up("vb");
  await rtnlA.links.up("lo");
  await rtnlB.links.up("lo");
  return {
    a,
    b,
    rtnlA,
    rtnlB,
    ipA,
    ipB,
    async close() {
      rtnlA.close();
      rtnlB.close();
      await deleteNetns(a);
      await deleteNetns(b);
    },
  };
}

/** Round-trip times in ms of `count` pings from `netns` to `target`, and how many came back. */
export async function ping(
  netns: string,
  target: string,
  count: number,
  intervalS = 0.2,
): Promise<{ rtts: number[]; sent: number; received: number }> {
  const r = await run(
    "ip",
    ["netns", "exec", netns, "ping", "-n", "-c", String(count), "-i", String(intervalS), "-W", "2", target],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const stats = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { rtts, sent: Number(stats?.[1] ?? 0), received: Number(stats?.[2] ?? 0) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/**
 * Offers `offeredBps` of UDP from a to b for 6 s (iperf3) and returns the bits per second that
 * arrived. UDP measures a shaper or policer itself; TCP under software emulation is limited by the
 * guest's CPU.
 */
export async function udpArrivedBps(pair: Pair & { ipB: string }, offeredBps: number): Promise<number> {
  const server = spawn("ip", ["netns", "exec", pair.b, "iperf3", "-s", "-1", "-B", pair.ipB], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const out = await run(
      "ip",
      [
        "netns",
        "exec",
        pair.a,
        "iperf3",
        "-c",
        pair.ipB,
        "-u",
        "-b",
        String(offeredBps),
        "-l",
        "1200",
        "-t",
        "6",
        "-J",
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const sum = (
      JSON.parse(out.stdout) as { end: { sum: { bits_per_second: number; lost_percent: number } } }
    ).end.sum;
    return sum.bits_per_second * (1 - sum.lost_percent / 100);
  } finally {
    server.kill();
  }
}
