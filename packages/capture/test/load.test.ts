import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireProgram } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { execaNode } from "execa";
import { afterAll, beforeAll, expect } from "vitest";
import { readCaptureFile, startCapture } from "../src/index.js";
import { delay, frame, sendFrames, tcpdumpCount, vethPair } from "./helpers.js";

let dir: string;
let trafgenConf: string;
beforeAll(async () => {
  requireProgram("trafgen", "netsniff-ng");
  dir = await mkdtemp(join(tmpdir(), "vmnet-capture-load-"));
  trafgenConf = join(dir, "frame.cfg");
  // 64-byte broadcast frames of the local experimental EtherType.
  await writeFile(
    trafgenConf,
    "{ 0xff,0xff,0xff,0xff,0xff,0xff, 0x02,0x00,0x00,0x00,0x00,0x01, c16(0x88b5), fill(0x41, 48) }\n",
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describePrivileged("captures under load", () => {
  test("two captures on one interface each get every packet", async ({ netns }) => {
    await vethPair(netns);
    const f1 = join(dir, `c1-${netns.name}.pcapng`);
    const f2 = join(dir, `c2-${netns.name}.pcap`);
    const c1 = await startCapture({ iface: "a1", netns: netns.name, file: f1 });
    const c2 = await startCapture({ iface: "a1", netns: netns.name, file: f2, snaplen: 32 });
    const sent = Array.from({ length: 1000 }, (_, seq) => frame({ seq }));
    await sendFrames(netns, "a0", sent);
    const [s1, s2] = await Promise.all([c1.stop(), c2.stop()]);
    expect(s1).toMatchObject({ packets: 1000, drops: 0 });
    expect(s2).toMatchObject({ packets: 1000, drops: 0 });
    const [r1, r2] = await Promise.all([readCaptureFile(f1), readCaptureFile(f2)]);
    expect(r1.packets.map((p) => p.data)).toEqual(sent);
    expect(r2.packets.map((p) => p.data)).toEqual(sent.map((f) => f.subarray(0, 32)));
  });

  test("trafgen at full rate: stop() mid-stream keeps every packet the kernel accepted", async ({
    netns,
  }) => {
    await vethPair(netns);
    const file = join(dir, `load-${netns.name}.pcap`);
    const cap = await startCapture({ iface: "a1", netns: netns.name, file, filter: "ether proto 0x88b5" });
    const gen = netns.exec("trafgen", ["-o", "a0", "-c", trafgenConf, "--cpus", "1", "-n", "1500000", "-q"], {
      reject: false,
    });
    await delay(700);
    const running = cap.stats();
    const stats = await cap.stop(); // mid-stream: trafgen needs about 2 s for its 1.5 M frames
    expect(gen.exitCode).toBeNull();
    await gen;
    expect(running.packets).toBeGreaterThan(0);
    expect(stats.packets).toBeGreaterThan(10000);
    // Everything the ring held when stop() was called is in the file: accepted = written + dropped.
    expect(stats.packets).toBe(stats.received - stats.drops);
    const read = await readCaptureFile(file);
    expect(read.packets).toHaveLength(stats.packets);
    const td = await tcpdumpCount(file);
    expect(td.warnings).toEqual([]);
    expect(td.count).toBe(stats.packets);
    console.log(`load: ${stats.packets} packets captured in ~0.7 s, ${stats.drops} dropped by the kernel`);
  });

  test("a capture whose process exits is flushed and closed (the ring thread is joined)", async ({
    netns,
  }) => {
    await vethPair(netns);
    const file = join(dir, `exit-${netns.name}.pcapng`);
    // Runs the built package (turbo builds before testing).
    const script = `
      import { startCapture } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).pathname)};
      await startCapture({ iface: "a1", netns: ${JSON.stringify(netns.name)}, file: ${JSON.stringify(file)} });
      process.send("ready");
      process.on("message", () => process.exit(0));
    `;
    const scriptFile = join(dir, `exit-${netns.name}.mjs`);
    await writeFile(scriptFile, script);
    const child = execaNode(scriptFile, [], { reject: false, ipc: true });
    await child.getOneMessage();
    await sendFrames(
      netns,
      "a0",
      Array.from({ length: 50 }, (_, seq) => frame({ seq })),
    );
    await delay(100);
    child.sendMessage("exit");
    const r = await child;
    expect(r.exitCode).toBe(0);
    const read = await readCaptureFile(file);
    expect(read.packets).toHaveLength(50);
    expect(read.statistics[0]).toMatchObject({ usrDeliv: 50n });
  });
});
