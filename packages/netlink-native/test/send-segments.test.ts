// A send is one pool job whose data goes out as one sendto() per segment. This kernel does not
// preempt kernel code, so a netlink batch in one sendto() kept the pool thread in the kernel for
// the whole batch while the event loop, woken on its CPU, waited. These tests pin down what
// splitting must keep: every segment arrives as its own datagram, a failed segment reports what
// was sent before it, and a connection fails only the requests that never reached the kernel.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import * as C from "../src/codec/constants.js";
import { NetlinkConnection, NetlinkError, native, requests } from "../src/index.js";

const AF_INET = 2;
const SOCK_DGRAM = 2;

function sockaddrIn(port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  b.set([127, 0, 0, 1], 4);
  return b;
}

describePrivileged("send segments", () => {
  test("each segment is its own sendto(); a failed one reports the bytes sent before it", async ({
    netns,
  }) => {
    await netns.exec("ip", ["link", "set", "lo", "up"]);
    const received: number[] = [];
    let arrived: () => void = () => undefined;
    const receiver = new (native().DatagramSocket)(
      AF_INET,
      SOCK_DGRAM,
      0,
      netns.path,
      (err: Error | null, _data: Buffer, lengths: Uint32Array) => {
        if (err) throw err;
        received.push(...lengths);
        arrived();
      },
    );
    const sender = new (native().DatagramSocket)(AF_INET, SOCK_DGRAM, 0, netns.path, () => undefined);
    try {
      receiver.bind(sockaddrIn(0));
      receiver.start();
      const dest = sockaddrIn(receiver.localAddress().readUInt16BE(2));
      const until = (n: number) =>
        new Promise<void>((resolve) => {
          arrived = () => {
            if (received.length >= n) resolve();
          };
          arrived();
        });

      const sent = await sender.send(Buffer.alloc(350, 1), dest, false, Uint32Array.from([100, 200, 50]));
      expect(sent).toBe(350);
      await until(3);
      expect(received).toEqual([100, 200, 50]);

      // The second segment is larger than any UDP datagram: EMSGSIZE after the first went out.
      received.length = 0;
      const failed = await sender
        .send(Buffer.alloc(100 + 70_000 + 10, 2), dest, false, Uint32Array.from([100, 70_000, 10]))
        .then(
          () => undefined,
          (e: unknown) => e as Error & { code?: string; bytesSent?: number },
        );
      expect(failed?.code).toBe("EMSGSIZE");
      expect(failed?.bytesSent).toBe(100);
      await until(1);
      // A datagram sent after the failure would have arrived before this one (same socket pair).
      await sender.send(Buffer.alloc(7, 3), dest);
      await until(2);
      expect(received).toEqual([100, 7]);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  test("a request whose sendto() fails fails alone with the ones after it; those before it are answered", async ({
    netns,
  }) => {
    const conn = await NetlinkConnection.open({ netns: netns.name });
    try {
      // The smallest send buffer the kernel allows (2 x 4096): a netlink message must fit in it.
      conn.netlinkSocket.raw.setOption(C.SOL_SOCKET, C.SO_SNDBUF, 4096);
      const sendCalls: number[][] = [];
      const socket = conn.netlinkSocket;
      const send = socket.send.bind(socket);
      socket.send = (data: Buffer, readAfter?: boolean, segments?: Uint32Array) => {
        sendCalls.push(segments ? [...segments] : [data.length]);
        return send(data, readAfter, segments);
      };
      const get = requests.linkGet(1);
      const ask = (body: Buffer) =>
        conn.request(get.type, get.flags, body, { op: "link get" }).then(
          (messages) => messages.length,
          (e: unknown) => e,
        );
      // Too large for the send buffer (the kernel never sees it): 12 KiB of padding attribute.
      const huge = Buffer.concat([get.body, Buffer.alloc(12 << 10)]);
      huge.writeUInt16LE(12 << 10, get.body.length); // nla_len
      huge.writeUInt16LE(0, get.body.length + 2); // IFLA_UNSPEC
      // Issued in one turn: one pool job, one sendto() per request.
      const answers = await Promise.all([
        ask(get.body),
        ask(get.body),
        ask(huge),
        ask(get.body),
        ask(get.body),
      ]);
      expect(sendCalls.length).toBe(1);
      expect(sendCalls[0]?.length).toBe(5);
      expect(answers[0]).toBe(1);
      expect(answers[1]).toBe(1);
      for (const failed of answers.slice(2)) {
        expect(failed).toBeInstanceOf(NetlinkError);
        expect((failed as NetlinkError).code).toBe("EMSGSIZE");
      }
      // The handle goes on working.
      expect(await ask(get.body)).toBe(1);
    } finally {
      conn.close();
    }
  });
});
