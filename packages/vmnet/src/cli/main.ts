// The `vmnet` command line. Exit codes: 0 success, 1 a failure while running, 2 bad usage.
import { readFileSync } from "node:fs";
import { runDemo } from "./demo.js";

const USAGE = `usage: vmnet <command> [options]

commands:
  demo        build a small network in private namespaces on a private Open vSwitch
              (userspace datapath): hosts on VLANs, pings that must and must not pass,
              a real CNI plugin's result, per-port statistics; removes everything after
  help        show this help

options:
  -h, --help      show this help
  -V, --version   print the version
  -q, --quiet     demo: print only the summary line`;

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const args = [...argv];
  if (args.includes("-V") || args.includes("--version")) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    out(pkg.version);
    return 0;
  }
  const command = args.find((a) => !a.startsWith("-"));
  if (!command || command === "help" || args.includes("-h") || args.includes("--help")) {
    out(USAGE);
    return command || args.length ? 0 : 2;
  }
  const unknown = args.filter((a) => a.startsWith("-") && !["-q", "--quiet"].includes(a));
  if (unknown.length > 0) {
    console.error(`vmnet: unknown option ${unknown[0]}\n\n${USAGE}`);
    return 2;
  }
  if (command !== "demo") {
    console.error(`vmnet: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const quiet = args.includes("-q") || args.includes("--quiet");
    const summary = await runDemo(quiet ? () => {} : out);
    out(summary);
    return 0;
  } catch (error) {
    console.error(`vmnet demo: ${(error as Error).message}`);
    return 1;
  }
}
