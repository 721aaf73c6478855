// `vmnet serve`: the read-only lab page, JSON API and /metrics, until Ctrl-C.
import type { Command } from "commander";
import { VmnetInputError } from "../../errors.js";
import { isLoopback, parseListen, startServe } from "../../serve/index.js";
import { int, type Kit } from "../command-kit.js";
import { untilInterrupted } from "../session.js";

export function registerServe(program: Command, kit: Kit): void {
  const { io } = kit;
  program
    .command("serve")
    .option("--listen <addr>", "address and port (non-loopback needs --token)", "127.0.0.1:8080")
    .option(
      "--token <token>",
      "required for non-loopback addresses and for pcap downloads (or $VMNET_SERVE_TOKEN)",
    )
    .option("--pcap-dir <dir>", "list (and with the token, serve) the pcap files in this directory")
    .option("--state-dir <dir>", "where container-side network journals are", "/run/vmnet")
    .option(
      "-i, --interval <s>",
      "seconds between bandwidth samples pushed to the page",
      int("--interval"),
      1,
    )
    .option("-s, --seconds <n>", "stop after n seconds", int("--seconds"))
    .description("a read-only web page of the lab: topology graph, live bandwidth, captures; /metrics")
    .addHelpText(
      "after",
      "\nExamples:\n  vmnet serve                                   http://127.0.0.1:8080/\n  vmnet serve --listen 0.0.0.0:8080 --token $(openssl rand -hex 16)\n",
    )
    .action(
      async (
        o: {
          listen: string;
          token?: string;
          pcapDir?: string;
          stateDir: string;
          interval: number;
          seconds?: number;
        },
        cmd: Command,
      ) => {
        const token = o.token ?? process.env.VMNET_SERVE_TOKEN;
        // Refuse before touching Open vSwitch: a public address without a token never starts.
        if (!isLoopback(parseListen(o.listen).host) && !token)
          throw new VmnetInputError("token", `--listen ${o.listen} is not loopback: give --token`);
        await kit.withBridges(cmd, async ({ bridges }) => {
          const serve = await startServe({
            bridges,
            listen: o.listen,
            ...(token ? { token } : {}),
            ...(o.pcapDir ? { pcapDir: o.pcapDir } : {}),
            stateDir: o.stateDir,
            intervalMs: o.interval * 1000,
            log: io.err,
          });
          if (io.json) io.out(JSON.stringify({ url: serve.url, listen: serve.address }));
          else if (!io.quiet) io.out(`serving ${serve.url} (read-only; Ctrl-C to stop)`);
          const limit = o.seconds
            ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000))
            : undefined;
          try {
            await untilInterrupted(limit);
          } finally {
            await serve.close();
          }
        });
      },
    );
}
