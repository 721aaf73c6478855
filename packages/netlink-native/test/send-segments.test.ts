// A send is one pool job whose data goes out in several sendto() calls along its segments. This
// kernel does not preempt kernel code, so a netlink batch in one sendto() kept the pool thread in
// the kernel for the whole batch while the event loop, woken on its CPU, waited; a sendto() per
// request, on the other hand, cost more than the kernel's work for cheap requests. On a netlink
// socket consecutive segments share a sendto() while the kernel's time for them stays short. These
// tests pin down what that must keep: a datagram socket's segments each arrive as their own
// datagram, a failed segment reports what was sent before it, a connection fails only the requests
// that never reached the kernel, and sharing a sendto() never makes one too large to send.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import * as C from "../src/codec/constants.js";
import { NetlinkConnection, NetlinkError, native, requests } from "../src/index.js";
import { traceCalls } from "./strace.js";

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

  test("cheap requests share sendto() calls; every one is answered, in order", async ({ netns }) => {
    const conn = await NetlinkConnection.open({ netns: netns.name });
    try {
      const raw = conn.netlinkSocket.raw;
      const get = requests.linkGet(1);
      const order: number[] = [];
      const N = 200;
      const before = raw.sendCalls;
      // Issued in one turn: one pool job of N segments.
      await Promise.all(
        Array.from({ length: N }, (_, i) =>
          conn.request(get.type, get.flags, get.body, { op: "link get" }).then((m) => {
            expect(m.length).toBe(1);
            order.push(i);
          }),
        ),
      );
      const calls = raw.sendCalls - before;
      console.log(`${N} link gets went out in ${calls} sendto() calls`);
      expect(order).toEqual(Array.from({ length: N }, (_, i) => i));
      // A link get costs the kernel microseconds: far fewer calls than requests.
      expect(calls).toBeGreaterThanOrEqual(2); // the first goes alone, to learn its cost
      expect(calls).toBeLessThan(N / 4);
    } finally {
      conn.close();
    }
  });

  test("what cheap requests cost is not taken for what creating a link costs", async ({ netns }) => {
    const conn = await NetlinkConnection.open({ netns: netns.name });
    try {
      const raw = conn.netlinkSocket.raw;
      const get = requests.linkGet(1);
      await Promise.all(
        Array.from({ length: 200 }, () => conn.request(get.type, get.flags, get.body, { op: "link get" })),
      );
      const before = raw.sendCalls;
      const adds = Array.from({ length: 40 }, (_, i) =>
        requests.linkAdd({ kind: "veth", attrs: { name: `k${i}` }, data: { peer: { name: `kp${i}` } } }),
      );
      await Promise.all(adds.map((a) => conn.request(a.type, a.flags, a.body, { op: "link add" })));
      const calls = raw.sendCalls - before;
      console.log(`40 veth creates after 200 link gets: ${calls} sendto() calls`);
      // Judged by the link gets' cost (microseconds), 20-40 at a time would go in one sendto() (3
      // calls in all, measured with one estimate for every kind): the kernel creating links for
      // milliseconds in one call. Their own kind is learned apart: at most a few share a call
      // (none where a creation takes over 125 us, as here: 40 calls).
      expect(calls).toBeGreaterThanOrEqual(8);
      expect((await conn.request(get.type, get.flags, get.body, { op: "link get" })).length).toBe(1);
    } finally {
      conn.close();
    }
  });

  test("a kind first seen refused at once (an existing name) is not taken to be that cheap", async ({
    netns,
  }) => {
    const veth = (name: string) =>
      requests.linkAdd({ kind: "veth", attrs: { name }, data: { peer: { name: `${name}p` } } });
    /** Calls for 40 creations on a fresh connection whose first request of the kind is `first`. */
    const fortyAfter = async (prefix: string, first: "refused" | "made"): Promise<number> => {
      const conn = await NetlinkConnection.open({ netns: netns.name });
      try {
        const raw = conn.netlinkSocket.raw;
        const one = veth(`${prefix}0`);
        if (first === "refused") {
          // Made by another process: this socket's first creation is refused (EEXIST) in
          // microseconds, and that is the first cost it learns for the kind.
          await netns.exec("ip", [
            "link",
            "add",
            `${prefix}0`,
            "type",
            "veth",
            "peer",
            "name",
            `${prefix}0p`,
          ]);
          await expect(conn.request(one.type, one.flags, one.body, { op: "link add" })).rejects.toThrow(
            NetlinkError,
          );
        } else {
          await conn.request(one.type, one.flags, one.body, { op: "link add" });
        }
        const before = raw.sendCalls;
        const adds = Array.from({ length: 40 }, (_, i) => veth(`${prefix}${i + 1}`));
        await Promise.all(adds.map((a) => conn.request(a.type, a.flags, a.body, { op: "link add" })));
        return raw.sendCalls - before;
      } finally {
        conn.close();
      }
    };
    const afterRefused = await fortyAfter("r", "refused");
    const afterMade = await fortyAfter("m", "made");
    console.log(
      `40 veth creates after a refused one: ${afterRefused} sendto() calls; after a made one: ${afterMade}`,
    );
    // Taken at its word, the refusal's cost put some 20 creations in the first call (16 and 23
    // calls in all, measured without the limit below). A kind may join twice as many requests as
    // in its last call that stayed within the budget (after one alone: two), and half as many
    // after one that took over twice the budget: the refusal costs one call of two creations.
    expect(afterRefused).toBeGreaterThanOrEqual(Math.floor(afterMade * 0.75));
  });

  test("a UDP socket counts one sendto() per segment", async ({ netns }) => {
    await netns.exec("ip", ["link", "set", "lo", "up"]);
    const receiver = new (native().DatagramSocket)(AF_INET, SOCK_DGRAM, 0, netns.path, () => undefined);
    const sender = new (native().DatagramSocket)(AF_INET, SOCK_DGRAM, 0, netns.path, () => undefined);
    try {
      receiver.bind(sockaddrIn(0));
      const dest = sockaddrIn(receiver.localAddress().readUInt16BE(2));
      await sender.send(Buffer.alloc(40, 1), dest, false, new Uint32Array(40).fill(1));
      expect(sender.sendCalls).toBe(40);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  test("requests that fit the send buffer alone are never joined beyond it", async ({ netns }) => {
    const conn = await NetlinkConnection.open({ netns: netns.name });
    try {
      // The smallest send buffer (2 x 4096): two of these requests fit in one sendto(), three do not.
      conn.netlinkSocket.raw.setOption(C.SOL_SOCKET, C.SO_SNDBUF, 4096);
      const get = requests.linkGet(1);
      const padded = Buffer.concat([get.body, Buffer.alloc(3 << 10)]);
      padded.writeUInt16LE(3 << 10, get.body.length); // nla_len
      padded.writeUInt16LE(0, get.body.length + 2); // IFLA_UNSPEC
      // Warm the socket's estimate with cheap requests first, so the padded ones are grouped.
      await Promise.all(
        Array.from({ length: 20 }, () => conn.request(get.type, get.flags, get.body, { op: "link get" })),
      );
      let answers: PromiseSettledResult<unknown>[] = [];
      const lines = await traceCalls(async () => {
        answers = await Promise.allSettled(
          Array.from({ length: 60 }, () => conn.request(get.type, get.flags, padded, { op: "link get" })),
        );
      }, "sendto");
      expect(answers.filter((a) => a.status === "rejected")).toEqual([]);
      // Not even a sendto() the kernel refused and that was then split up again (see SendGrouped).
      const sends = lines.filter((l) => l.includes(`sendto(${conn.netlinkSocket.raw.fd},`));
      expect(sends.length).toBeGreaterThan(0);
      expect(sends.filter((l) => l.includes("EMSGSIZE"))).toEqual([]);
      const bytes = sends.map((l) => Number(/= (\d+)$/.exec(l.trim())?.[1] ?? 0));
      // Under strace each call is slower, so how many were joined varies; the first test shows joining.
      console.log(
        `padded requests: largest sendto() ${Math.max(...bytes)} bytes (one is ${16 + padded.length})`,
      );
    } finally {
      conn.close();
    }
  });
});
