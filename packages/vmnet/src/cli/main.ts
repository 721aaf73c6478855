// The `vmnet` command line (commander). Exit codes: 0 success, 1 a failure while running,
// 2 bad usage, 3 Open vSwitch not usable. Errors are one line on stderr.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { VmnetInputError } from "../errors.js";
import { makeKit } from "./command-kit.js";
import { registerBridge } from "./commands/bridge.js";
import { registerCsn } from "./commands/csn.js";
import { registerLive } from "./commands/live.js";
import { registerPorts } from "./commands/ports.js";
import { registerQos } from "./commands/qos.js";
import { registerServe } from "./commands/serve.js";
import { OvsUnavailable, registerSystem } from "./commands/system.js";
import { registerTap } from "./commands/tap.js";
import { runDemo } from "./demo.js";
import type { Io } from "./io.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, ovsUnavailable: 3 } as const;

const EXAMPLES = `
Examples:
  vmnet demo                                   build a lab and a pod in private namespaces, report, remove
  vmnet check                                  is Open vSwitch usable here?
  vmnet bridge create lab
  vmnet tap create -b lab --vlan 10 -n 100     100 taps in one batch
  vmnet tap list --json
  vmnet qos set lab mega_tap0 --rate 10mbit
  vmnet capture lab -w /tmp/lab.pcap -c 100
  vmnet --db sandbox --netns lab1 bridge list  against a private OVS for this command only
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function buildProgram(io: Io, errors: string[]): Command {
  const program = new Command("vmnet")
    .description(
      "Wire VMs and containers into Linux networks: Open vSwitch bridges, taps, VLANs, QoS, captures",
    )
    .version(version(), "-V, --version")
    .option(
      "--db <remote>",
      'OVSDB: "system" (default, or $OVS_DB), "sandbox" (private, for this command), or unix:/path',
    )
    .option("--netns <name>", "network namespace of the switch and taps (default: the current one)")
    .option("--owner <name>", "owner name in the ownership marks (default vmnet)")
    .option("--tap-format <fmt>", 'tap names, e.g. "mega_tap%d"')
    .option(
      "--ovn <endpoint>",
      "OVN northbound DB (unix:/path or tcp:host:6641): VLANs become logical switches spanning hosts",
    )
    .option("--json", "machine-readable output")
    .option("-q, --quiet", "print less")
    .addHelpText("after", EXAMPLES)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => errors.push(s.trim()),
      outputError: (s) => errors.push(s.trim()),
    });
  const kit = makeKit(io);
  program
    .command("demo")
    .description("the embedded default end to end in private namespaces; removes everything after")
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { quiet?: boolean };
      const summary = await runDemo(g.quiet ? () => {} : io.out);
      io.out(summary);
    });
  registerBridge(program, kit);
  registerTap(program, kit);
  registerPorts(program, kit);
  registerQos(program, kit);
  registerLive(program, kit);
  registerCsn(program, kit);
  registerSystem(program, kit);
  registerServe(program, kit);
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

export async function main(
  argv: string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  const io: Io = { out, err, json: false, quiet: false, tty: Boolean(process.stdout.isTTY) };
  const errors: string[] = [];
  const program = buildProgram(io, errors);
  if (argv.length === 0) {
    out(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return EXIT.ok;
      if (e.code === "commander.executeSubCommandAsync") return EXIT.ok;
      err(`vmnet: ${(errors[0] ?? e.message).replace(/^error: /, "")} (vmnet --help)`);
      return EXIT.usage;
    }
    if (e instanceof OvsUnavailable) {
      err(`vmnet: ${e.message}`);
      return EXIT.ovsUnavailable;
    }
    const message = e instanceof Error ? e.message : String(e);
    err(`vmnet: ${message.split("\n")[0]}`);
    if (e instanceof VmnetInputError) return EXIT.usage;
    if (/OVSDB socket|ovsdb-server is not running|is missing: apt-get/.test(message))
      return EXIT.ovsUnavailable;
    return EXIT.failure;
  }
}
