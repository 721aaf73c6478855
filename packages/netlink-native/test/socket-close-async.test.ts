// DatagramSocket.closeAsync(): the close(2) runs on libuv's pool, because closing an AF_PACKET
// socket waits for an RCU grace period in the kernel (packet_release calls synchronize_net).
// The promise settles only once the fd is really closed, so callers that count fds stay exact.
import { readdirSync, readlinkSync } from "node:fs";
import { describePrivileged, netnsTest } from "@vmnet/harness/vitest";
import { expect, test } from "vitest";
import { native, Rtnl } from "../src/index.js";

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

function socketInode(fd: string): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Sends one 60-byte frame (a local experimental ethertype) out of lo: a send in flight. */
function sendOnLoopback(sock: { send(data: Buffer, dest: Buffer): Promise<number> }): Promise<number> {
  const dest = Buffer.alloc(20); // struct sockaddr_ll
  dest.writeUInt16LE(AF_PACKET, 0);
  dest.writeInt32LE(1, 4); // lo
  const frame = Buffer.alloc(60, 0x42);
  frame.writeUInt16BE(0x88b5, 12);
  return sock.send(frame, dest);
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
    const sending = sendOnLoopback(sock);
    const closing = sock.closeAsync();
    await expect(sending).resolves.toBe(60);
    await closing;
    expect(openSockets()).toEqual(before);
  });

  test("close() with a send in flight: the fd stays open for the send, and the promise settles once it is closed", async () => {
    const before = openSockets();
    const sock = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, "", () => {});
    const fd = String(sock.fd);
    const inode = socketInode(fd);
    const sending = sendOnLoopback(sock);
    const closing = sock.close();
    // The send's pool job holds the fd: closing it now could hand its number to another open.
    expect(socketInode(fd)).toBe(inode);
    await expect(sending).resolves.toBe(60);
    await closing;
    expect(socketInode(fd)).not.toBe(inode);
    await sock.close(); // a second close settles too
    expect(openSockets()).toEqual(before);
  });

  // An answer can reach JS (read by the loop) before the pool job that sent its request has
  // finished: a handle closed on that answer keeps its fd until the job is done. Awaiting
  // close() covers that window, so a caller counting fds right after sees none of ours.
  netnsTest(
    "Rtnl: 2,000 handles closed on their first answer: none of their sockets is open once close() settles",
    async ({ netns }) => {
      let openRightAfterClose = 0;
      let openAfterAwait = 0;
      for (let i = 0; i < 2000; i++) {
        const r = await Rtnl.open({ netns: netns.name });
        const fd = String(r.connection.netlinkSocket.raw.fd);
        const inode = socketInode(fd);
        await r.links.get(1);
        const closing = r.close();
        if (socketInode(fd) === inode) openRightAfterClose++;
        await closing;
        if (socketInode(fd) === inode) openAfterAwait++;
      }
      console.log(`2000 Rtnl closes: ${openRightAfterClose} still held by a pool job right after close()`);
      expect(openAfterAwait).toBe(0);
    },
  );
});
