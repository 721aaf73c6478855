// DatagramSocket.closeAsync(): the close(2) runs on libuv's pool, because closing an AF_PACKET
// socket waits for an RCU grace period in the kernel (packet_release calls synchronize_net).
// The promise settles only once the fd is really closed, so callers that count fds stay exact.
import { readdirSync, readlinkSync } from "node:fs";
import { describePrivileged } from "@vmnet/harness/vitest";
import { expect, test } from "vitest";
import { native } from "../src/index.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;

function openSockets(): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) out.add(fd);
    } catch {}
  }
  return out;
}

describePrivileged("DatagramSocket.closeAsync", () => {
  test("the fd is closed once the promise settles, a second close is harmless, nothing leaks over 500 cycles", async () => {
    const before = openSockets();
    const sock = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, "", () => {});
    const fd = String(sock.fd);
    expect(openSockets().has(fd)).toBe(true);
    await sock.closeAsync();
    expect(openSockets().has(fd)).toBe(false);
    await sock.closeAsync();
    sock.close();
    for (let i = 0; i < 500; i++) {
      const s = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, "", () => {});
      s.start();
      await s.closeAsync();
    }
    expect(openSockets()).toEqual(before);
  });

  test("closing with a send in flight: the send completes, then the fd is gone", async () => {
    const before = openSockets();
    const sock = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, "", () => {});
    const dest = Buffer.alloc(20);
    dest.writeUInt16LE(AF_PACKET, 0);
    dest.writeInt32LE(1, 4); // lo
    const frame = Buffer.alloc(60, 0x42);
    frame.writeUInt16BE(0x88b5, 12);
    const sending = sock.send(frame, dest);
    const closing = sock.closeAsync();
    await expect(sending).resolves.toBe(60);
    await closing;
    expect(openSockets()).toEqual(before);
  });
});
