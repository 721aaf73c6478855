import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect } from "vitest";
import { CaptureError, CaptureFilterError, CaptureInputError, packets, startCapture } from "../src/index.js";
import { frame, sendFrames, vethPair } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-err-"));
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

describePrivileged("bad input: typed errors, and no file left behind", () => {
  test("unknown interface", async ({ netns }) => {
    const file = join(dir, "nodev.pcap");
    const e = await failure(startCapture({ iface: "nope0", netns: netns.name, file }));
    expect(e).toBeInstanceOf(CaptureError);
    expect(e).toMatchObject({ code: "ENODEV", syscall: "ioctl" });
    expect(e.message).toBe('capture on "nope0": no such interface (ENODEV)');
    expect(existsSync(file)).toBe(false);
  });

  test("bad filter expression: libpcap's text, on one line", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, "badfilter.pcap");
    const e = await failure(startCapture({ iface: "a1", netns: netns.name, file, filter: "udp and port" }));
    expect(e).toBeInstanceOf(CaptureFilterError);
    expect(e.message).toBe('filter "udp and port": can\'t parse filter expression: syntax error');
    expect(existsSync(file)).toBe(false);
  });

  test("raw BPF the kernel refuses", async ({ netns }) => {
    await vethPair(netns);
    const file = join(dir, "badbpf.pcap");
    // A jump past the end of the program.
    const e = await failure(
      startCapture({ iface: "a1", netns: netns.name, file, filter: [{ code: 0x15, jt: 5, jf: 5, k: 0 }] }),
    );
    expect(e).toBeInstanceOf(CaptureError);
    expect(e).toMatchObject({ code: "EINVAL", syscall: "setsockopt" });
    expect(existsSync(file)).toBe(false);
  });

  test("unwritable paths: a missing directory, a read-only filesystem, an existing file", async ({
    netns,
  }) => {
    await vethPair(netns);
    const missing = join(dir, "no", "such", "dir", "x.pcap");
    const e1 = await failure(startCapture({ iface: "a1", netns: netns.name, file: missing }));
    expect(e1).toBeInstanceOf(CaptureError);
    expect(e1).toMatchObject({ code: "ENOENT", syscall: "open", path: missing });
    expect(e1.message).toBe(`capture file ${missing}: no such file or directory (ENOENT)`);

    // The suite runs in a private mount namespace: a read-only tmpfs here is seen by no one else.
    const ro = await mkdtemp(join(tmpdir(), "vmnet-ro-"));
    await execa("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "vmnet-ro", ro]);
    try {
      const e2 = await failure(startCapture({ iface: "a1", netns: netns.name, file: join(ro, "x.pcap") }));
      expect(e2).toMatchObject({ code: "EROFS", syscall: "open" });
      expect(await readdir(ro)).toEqual([]);
    } finally {
      await execa("umount", [ro]);
      await rm(ro, { recursive: true });
    }

    const existing = join(dir, "existing.pcap");
    writeFileSync(existing, "keep me");
    const e3 = await failure(startCapture({ iface: "a1", netns: netns.name, file: existing }));
    expect(e3).toMatchObject({ code: "EEXIST" });
    expect(e3.message).toContain("overwrite: true");
    expect(readFileSync(existing, "utf8")).toBe("keep me");
    // Asked to, it replaces the file (and makes it private).
    const cap = await startCapture({ iface: "a1", netns: netns.name, file: existing, overwrite: true });
    await cap.stop();
    expect(readFileSync(existing).readUInt32LE(0)).toBe(0xa1b2c3d4); // a .pcap name: pcap
  });

  test("a full disk while capturing ends the capture with a typed ENOSPC error", async ({ netns }) => {
    await vethPair(netns);
    const small = await mkdtemp(join(tmpdir(), "vmnet-full-"));
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k", "vmnet-full", small]);
    try {
      const file = join(small, "full.pcap");
      const cap = await startCapture({ iface: "a1", netns: netns.name, file });
      await sendFrames(
        netns,
        "a0",
        Array.from({ length: 400 }, (_, seq) => frame({ seq, size: 1000 })),
      );
      const e = await failure(cap.done);
      expect(e).toBeInstanceOf(CaptureError);
      expect(e).toMatchObject({ code: "ENOSPC", syscall: "write" });
      expect(e.message).toBe(`capture file ${file}: no space left on device (ENOSPC)`);
      expect((e as unknown as { stats: { reason: string } }).stats.reason).toBe("error");
      await expect(cap.stop()).rejects.toBe(e);
    } finally {
      await execa("umount", [small]);
      await rm(small, { recursive: true });
    }
  });

  test("an unknown netns", async () => {
    const file = join(dir, "nons.pcap");
    const e = await failure(startCapture({ iface: "lo", netns: "vmnet-no-such-ns", file }));
    expect(e).toBeInstanceOf(CaptureError);
    expect(e).toMatchObject({ code: "ENOENT", syscall: "open", path: "/run/netns/vmnet-no-such-ns" });
    expect(existsSync(file)).toBe(false);
  });

  test("input errors name the field: snaplen 0, promisc on 'any', unknown options, bad limits", async () => {
    const file = join(dir, "input.pcap");
    const cases: [object, string, string][] = [
      [
        { iface: "lo", file, snaplen: 0 },
        "capture.snaplen",
        "must be at least 1 (bytes kept of each packet)",
      ],
      [{ iface: "lo", file, snaplen: 1.5 }, "capture.snaplen", "must be an integer"],
      [{ iface: "any", file, promisc: true }, "promisc", 'needs one interface, not "any"'],
      [{ iface: "lo", file, colour: "red" }, "capture", 'unknown option(s) "colour"'],
      [{ iface: "lo", file, limits: { packets: 0 } }, "capture.limits.packets", "must be > 0"],
      [
        { iface: "lo", file, format: "erf" },
        "capture.format",
        'Invalid option: expected one of "pcap"|"pcapng"',
      ],
      [{ iface: "a/b", file }, "capture.iface", "must not contain '/', ':' or whitespace"],
      [{ iface: "lo" }, "capture.file", "expected string"],
    ];
    for (const [options, field, reason] of cases) {
      const e = await failure(startCapture(options as never));
      expect(e, JSON.stringify(options)).toBeInstanceOf(CaptureInputError);
      expect({ field: (e as CaptureInputError).field, reason: (e as CaptureInputError).reason }).toEqual({
        field,
        reason,
      });
    }
    expect(existsSync(file)).toBe(false);
    expect(() => packets({ iface: "lo", snaplen: 0 })).toThrow(CaptureInputError);
  });

  test("a live stream that cannot start fails its iteration with the typed error", async ({ netns }) => {
    const live = packets({ iface: "nope1", netns: netns.name });
    const e = await failure(
      (async () => {
        for await (const _ of live) break;
      })(),
    );
    expect(e).toBeInstanceOf(CaptureError);
    expect(e).toMatchObject({ code: "ENODEV" });
  });
});
