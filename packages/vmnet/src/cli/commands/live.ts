// Long-running commands: they run in the foreground until their limit or Ctrl-C, and clean up
// (mirror, host tap, NetFlow row, sampler) on the signal.
import type { Command } from "commander";
import { int, type Kit } from "../command-kit.js";
import { emit, table } from "../io.js";
import { untilInterrupted } from "../session.js";

export function registerLive(program: Command, kit: Kit): void {
  const { io } = kit;
  program
    .command("capture")
    .argument("<bridge>")
    .requiredOption("-w, --file <path>", "pcap (.pcap) or pcapng file to write")
    .option("--tap <tap>", "capture this tap only (default: the whole bridge through a mirror)")
    .option("-f, --filter <expr>", "pcap-filter expression")
    .option("-c, --packets <n>", "stop after n packets", int("--packets"))
    .option("-s, --seconds <n>", "stop after n seconds", int("--seconds"))
    .description("capture a bridge or a tap until the limit or Ctrl-C")
    .addHelpText("after", '\nExample:\n  vmnet capture lab -w /tmp/lab.pcap -f "icmp" -c 100\n')
    .action(
      async (
        bridge: string,
        o: { file: string; tap?: string; filter?: string; packets?: number; seconds?: number },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const b = await bridges.existing(bridge);
          const spec = {
            file: o.file,
            ...(o.filter ? { filter: o.filter } : {}),
            ...(o.packets ? { packets: o.packets } : {}),
            ...(o.seconds ? { seconds: o.seconds } : {}),
          };
          const cap = o.tap ? await b.captureTap(o.tap, spec) : await b.capture(spec);
          if (!io.json && !io.quiet) io.out(`capturing ${cap.iface} to ${cap.file} (Ctrl-C to stop)`);
          await untilInterrupted(cap.done);
          const stats = await b.stopCapture(cap.id).catch(() => cap.done);
          emit(io, stats, () =>
            io.out(`${stats.packets} packets, ${stats.bytes} bytes, ${stats.drops} dropped`),
          );
        }),
    );
  program
    .command("netflow")
    .argument("<bridge>")
    .option("-t, --timeout <s>", "active flow timeout (seconds)", int("--timeout"), 5)
    .option("-s, --seconds <n>", "stop after n seconds", int("--seconds"))
    .description("collect the bridge's NetFlow records until the limit or Ctrl-C")
    .action(async (bridge: string, o: { timeout: number; seconds?: number }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const b = await bridges.existing(bridge);
        const nf = await b.newNetflow(o.timeout);
        try {
          if (!io.json && !io.quiet) {
            io.out(`collecting NetFlow from ${bridge} on ${nf.receiver.target} (Ctrl-C to stop)`);
            nf.receiver.on("record", (r) =>
              io.out(
                `${r.srcAddr}:${r.srcPort} -> ${r.dstAddr}:${r.dstPort} proto ${r.protocol} ${r.packets} pkts ${r.bytes} bytes`,
              ),
            );
          }
          const limit = o.seconds
            ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000))
            : undefined;
          await untilInterrupted(limit);
        } finally {
          await b.destroyNetflow();
        }
        if (io.json) io.out(JSON.stringify(nf.records, null, 2));
      }),
    );
  program
    .command("bandwidth")
    .option("-i, --interval <s>", "seconds between samples", int("--interval"), 5)
    .option("--watch", "keep printing until Ctrl-C")
    .option("-s, --seconds <n>", "stop watching after n seconds", int("--seconds"))
    .description("MB/s per tap (10 samples averaged), all taps from one netlink dump per sample")
    .action(async (o: { interval: number; watch?: boolean; seconds?: number }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const sampler = bridges.startBandwidth({ intervalMs: o.interval * 1000 });
        const print = async () => {
          const taps = await bridges.taps();
          const totals = await bridges.bandwidth();
          emit(
            io,
            { taps: taps.map((t) => ({ name: t.name, bridge: t.bridge, ...t.bandwidth })), totals },
            () =>
              table(
                io,
                ["tap", "bridge", "rx MB/s", "tx MB/s"],
                [
                  ...taps.map((t) => [
                    t.name,
                    t.bridge,
                    t.bandwidth?.rxMBps.toFixed(3),
                    t.bandwidth?.txMBps.toFixed(3),
                  ]),
                  ["total", "", totals.rxMBps.toFixed(3), totals.txMBps.toFixed(3)],
                ],
              ),
          );
        };
        await new Promise((r) => setTimeout(r, o.interval * 1000 + 100));
        await print();
        if (o.watch) {
          const timer = setInterval(() => void print(), o.interval * 1000);
          const limit = o.seconds
            ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000))
            : undefined;
          await untilInterrupted(limit);
          clearInterval(timer);
        }
        await sampler.stop();
      }),
    );
}
