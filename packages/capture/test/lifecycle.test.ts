// A capture's whole life: its interface may be deleted under it (it must end, with the typed
// error), its file may be a path someone else prepared (never followed through a link, never
// removed on a failed start), and sizes that would wrap in 32 bits are refused by name.
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test as plainTest } from "vitest";
import { CaptureError, CaptureInputError, compileFilter, packets, startCapture } from "../src/index.js";
import { frame, sendFrames, vethPair } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-life-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

/** Settles with `p`, or fails the test after `ms` (a capture that never ends). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function expectInterfaceGone(e: Error, iface: string): void {
  expect(e).toBeInstanceOf(CaptureError);
  expect(e).toMatchObject({ code: "ENXIO" });
  expect(e.message).toBe(`capture on "${iface}": the interface went away (deleted while capturing) (ENXIO)`);
}

describePrivileged("the interface is deleted while capturing", () => {
  for (const down of [false, true]) {
    const how = down ? "set down first, then deleted" : "deleted while up";
    test(`file capture (${how}): ends with ENXIO, packets so far kept`, async ({ netns }) => {
      await vethPair(netns);
      const file = join(dir, `gone-${down}-${netns.name}.pcapng`);
      const cap = await startCapture({ iface: "a1", netns: netns.name, file });
      await sendFrames(
        netns,
        "a0",
        Array.from({ length: 7 }, (_, seq) => frame({ seq })),
      );
      if (down) await netns.exec("ip", ["link", "set", "a1", "down"]);
      await netns.exec("ip", ["link", "del", "a0"]);
      const e = await within(failure(cap.done), 5000, "capture of a deleted interface");
      expectInterfaceGone(e, "a1");
      expect((e as CaptureError & { stats: { packets: number } }).stats.packets).toBe(7);
      expect(statSync(file).size).toBeGreaterThan(0);
    });
  }

  test("file capture with a packet limit not yet reached: ends with ENXIO", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `gone-limit-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, limits: { packets: 1000 } });
    await sendFrames(netns, "a0", [frame({ seq: 1 })]);
    await netns.exec("ip", ["link", "del", "a1"]);
    expectInterfaceGone(await within(failure(cap.done), 5000, "limited capture"), "a1");
    // stop() after the end reports the same error.
    expectInterfaceGone(await failure(cap.stop()), "a1");
  });

  test("live stream: the iteration ends by throwing ENXIO", async ({ netns }) => {
    await vethPair(netns);
    const live = packets({ iface: "a1", netns: netns.name });
    await live.linkType;
    await sendFrames(netns, "a0", [frame({ seq: 1 }), frame({ seq: 2 })]);
    setTimeout(() => void netns.exec("ip", ["link", "del", "a1"]), 300);
    let seen = 0;
    const e = await within(
      failure(
        (async () => {
          for await (const _ of live) seen++;
        })(),
      ),
      5000,
      "live stream of a deleted interface",
    );
    expectInterfaceGone(e, "a1");
    expect(seen).toBe(2);
  });

  test("a link that only goes down (and comes back) does not end the capture", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `down-up-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file });
    await netns.exec("ip", ["link", "set", "a1", "down"]);
    await new Promise((r) => setTimeout(r, 1500)); // past the ring thread's once-a-second check
    await netns.exec("ip", ["link", "set", "a1", "up"]);
    await sendFrames(netns, "a0", [frame({ seq: 1 })]);
    expect(await cap.stop()).toMatchObject({ reason: "stopped", packets: 1 });
  });
});

describePrivileged("overwrite: what is at the path", () => {
  test("a symbolic link is never followed: its target is neither truncated nor chmodded", async ({
    netns,
  }) => {
    await vethPair(netns);
    const target = join(dir, `target-${netns.name}.txt`);
    writeFileSync(target, "precious\n", { mode: 0o644 });
    chmodSync(target, 0o644);
    const link = join(dir, `link-${netns.name}.pcap`);
    symlinkSync(target, link);
    for (const overwrite of [true, false]) {
      const e = await failure(startCapture({ iface: "a1", netns: netns.name, file: link, overwrite }));
      expect(e).toBeInstanceOf(CaptureError);
      expect(e).toMatchObject({ code: overwrite ? "ELOOP" : "EEXIST", syscall: "open" });
    }
    expect(readFileSync(target, "utf8")).toBe("precious\n");
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test("a dangling link does not get its target created", async ({ netns }) => {
    await vethPair(netns);
    const target = join(dir, `nowhere-${netns.name}.pcap`);
    const link = join(dir, `dangling-${netns.name}.pcap`);
    symlinkSync(target, link);
    const e = await failure(startCapture({ iface: "a1", netns: netns.name, file: link, overwrite: true }));
    expect(e).toMatchObject({ code: "ELOOP" });
    expect(e.message).toBe(`capture file ${link}: the path is a symbolic link (never followed) (ELOOP)`);
    expect(existsSync(target)).toBe(false);
  });

  test("a regular file is replaced: truncated, mode 0600, the capture in it", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, `replace-${netns.name}.pcap`);
    writeFileSync(file, Buffer.alloc(100_000, 7));
    chmodSync(file, 0o644);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, overwrite: true });
    await sendFrames(netns, "a0", [frame({ seq: 1 })]);
    const stats = await cap.stop();
    expect(statSync(file).size).toBe(stats.fileBytes);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("something other than a regular file (a FIFO) is not overwritten", async ({ netns }) => {
    await vethPair(netns);
    const fifo = join(dir, `fifo-${netns.name}`);
    await execa("mkfifo", [fifo]);
    const e = await failure(startCapture({ iface: "a1", netns: netns.name, file: fifo, overwrite: true }));
    expect(e).toMatchObject({ code: "EINVAL" });
    expect(e.message).toBe(
      `capture file ${fifo}: not a regular file (only regular files are overwritten) (EINVAL)`,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  test("a failed fchmod leaves the user's existing file in place, untruncated", async ({ netns }) => {
    await vethPair(netns);
    // Root without CAP_FOWNER cannot chmod a file it does not own (but may still write it): the
    // capture runs in a child process whose capability bounding set lacks it.
    const file = join(dir, `theirs-${netns.name}.pcap`);
    writeFileSync(file, "someone else's data\n");
    chownSync(file, 4242, 4242);
    chmodSync(file, 0o666);
    const script = join(dir, `fchmod-${netns.name}.mjs`);
    writeFileSync(
      script,
      `import { startCapture } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).pathname)};
       try {
         await startCapture({ iface: "a1", netns: ${JSON.stringify(netns.name)}, file: ${JSON.stringify(file)}, overwrite: true });
         console.log("started");
       } catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall, name: e.name })); }
       process.exit(0);`,
    );
    const r = await execa("setpriv", ["--bounding-set", "-fowner", process.execPath, script]);
    expect(JSON.parse(r.stdout)).toEqual({ code: "EPERM", syscall: "fchmod", name: "CaptureError" });
    expect(readFileSync(file, "utf8")).toBe("someone else's data\n");
    expect(statSync(file).uid).toBe(4242);
  });
});

describe("sizes that would wrap are refused, naming the field", () => {
  plainTest("compileFilter: snaplen -1, 0, 2^31-1, 2^40, 1.5", () => {
    for (const snaplen of [-1, 0, 2 ** 31 - 1, 2 ** 40, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        compileFilter("arp", { snaplen });
      } catch (e) {
        error = e;
      }
      expect(error, String(snaplen)).toBeInstanceOf(CaptureInputError);
      expect(error).toMatchObject({ field: "snaplen" });
    }
    expect(compileFilter("arp", { snaplen: 262144 }).at(-2)).toEqual({ code: 6, jt: 0, jf: 0, k: 262144 });
  });

  plainTest("startCapture and packets: snaplen 2^31-256", async () => {
    const e = await failure(startCapture({ iface: "lo", file: join(dir, "x.pcap"), snaplen: 2 ** 31 - 256 }));
    expect(e).toBeInstanceOf(CaptureInputError);
    expect(e).toMatchObject({ field: "capture.snaplen" });
    expect(() => packets({ iface: "lo", snaplen: 2 ** 31 - 256 })).toThrow(CaptureInputError);
  });
});
