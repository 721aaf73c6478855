// Helpers the demo shares: an undo stack (everything made is removed, in reverse, also on
// failure), namespaces, pings and iperf3 runs inside them.
import { setTimeout as sleep } from "node:timers/promises";
import { createNetns, deleteNetns } from "@vmnet/netlink-native";
import { execa } from "execa";

export class Cleanup {
  private readonly undo: (() => unknown)[] = [];
  push(fn: () => unknown): void {
    this.undo.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.undo.reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error(`vmnet demo: cleanup step failed: ${(error as Error).message}`);
      }
    }
    this.undo.length = 0;
  }
}

export async function netns(cleanup: Cleanup, name: string): Promise<string> {
  await createNetns(name);
  cleanup.push(() => deleteNetns(name));
  await execa("ip", ["-n", name, "link", "set", "lo", "up"]);
  // No IPv6 chatter: the capture and NetFlow counts are the demo's own traffic.
  await execa("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  await execa("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
  return name;
}

export async function ping(ns: string, address: string, attempts: number): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const r = await execa("ip", ["netns", "exec", ns, "ping", "-c", "1", "-W", "1", address], {
      reject: false,
    });
    if (r.exitCode === 0) return true;
  }
  return false;
}

/** iperf3 from `client` to `server` (at `address`); the receiver's bits per second, or undefined. */
export async function iperf(
  server: string,
  client: string,
  address: string,
  seconds: number,
): Promise<number | undefined> {
  const s = execa("ip", ["netns", "exec", server, "iperf3", "-s", "-1", "-B", address], {
    reject: false,
    timeout: (seconds + 10) * 1000,
  });
  await sleep(400);
  const c = await execa(
    "ip",
    ["netns", "exec", client, "iperf3", "-c", address, "-t", String(seconds), "-J"],
    {
      reject: false,
      timeout: (seconds + 8) * 1000,
    },
  );
  await s;
  try {
    return JSON.parse(String(c.stdout)).end.sum_received.bits_per_second as number;
  } catch {
    return undefined;
  }
}

export const mbit = (bps: number | undefined) =>
  bps === undefined ? "n/a" : `${(bps / 1e6).toFixed(1)} Mbit/s`;
