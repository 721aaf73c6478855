// OpenFlow and daemon-control through the OVS tools (the switch's OpenFlow and unixctl channels
// are not OVSDB). Always argument arrays through execa, never a shell; output parsed into records.
import { execa } from "execa";
import { z } from "zod";
import { OvsCommandError, parseInput } from "./errors.js";
import { findProgram } from "./programs.js";
import { interfaceName } from "./vswitch/inputs.js";

export interface OfctlOptions {
  /** Run directory of the ovs-vswitchd (where <bridge>.mgmt and ovs-vswitchd.ctl live); default the system's. */
  rundir?: string;
  /** OpenFlow version list for ovs-ofctl -O, e.g. "OpenFlow13". */
  protocols?: string;
}

/** One line of ovs-ofctl dump-flows. */
export interface FlowEntry {
  cookie: string;
  durationSeconds: number;
  table: number;
  packets: number;
  bytes: number;
  priority: number;
  /** The match as ovs-ofctl prints it, e.g. "arp,in_port=1" ("" matches everything). */
  match: string;
  /** The actions as ovs-ofctl prints them, e.g. "NORMAL". */
  actions: string;
  /** Every key=value of the line (idle_age, hard_timeout...). */
  fields: Record<string, string>;
}

/** One MAC learning table entry (ovs-appctl fdb/show). */
export interface FdbEntry {
  /** OpenFlow port number, or "LOCAL". */
  port: string;
  vlan: number;
  mac: string;
  ageSeconds: number;
}

const flowText = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => !/[\r\n]/.test(s), "must be one line");

const STAT_KEYS = new Set([
  "cookie",
  "duration",
  "table",
  "n_packets",
  "n_bytes",
  "idle_age",
  "hard_age",
  "idle_timeout",
  "hard_timeout",
  "priority",
  "reset_counts",
  "importance",
]);

/** Parses ovs-ofctl dump-flows output. */
export function parseDumpFlows(text: string): FlowEntry[] {
  const flows: FlowEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const at = line.indexOf(" actions=");
    if (!line.startsWith("cookie=") || at < 0) continue;
    const fields: Record<string, string> = {};
    const match: string[] = [];
    for (const item of line.slice(0, at).split(/,\s*|\s+/)) {
      if (item === "") continue;
      const eq = item.indexOf("=");
      const key = eq < 0 ? item : item.slice(0, eq);
      const value = eq < 0 ? "" : item.slice(eq + 1);
      if (STAT_KEYS.has(key)) fields[key] = value;
      else {
        fields[key] = value;
        match.push(item);
      }
    }
    flows.push({
      cookie: fields.cookie ?? "0x0",
      durationSeconds: Number.parseFloat(fields.duration ?? "0"),
      table: Number(fields.table ?? 0),
      packets: Number(fields.n_packets ?? 0),
      bytes: Number(fields.n_bytes ?? 0),
      priority: Number(fields.priority ?? 32768),
      match: match.join(","),
      actions: line.slice(at + " actions=".length),
      fields,
    });
  }
  return flows;
}

/** Parses ovs-appctl fdb/show output. */
export function parseFdbShow(text: string): FdbEntry[] {
  const entries: FdbEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\S+)\s+(\d+)\s+([0-9a-fA-F:]{17})\s+(\d+)\s*$/.exec(line);
    if (m)
      entries.push({
        port: m[1] as string,
        vlan: Number(m[2]),
        mac: (m[3] as string).toLowerCase(),
        ageSeconds: Number(m[4]),
      });
  }
  return entries;
}

export class Ofctl {
  constructor(private readonly options: OfctlOptions = {}) {}

  private env(): Record<string, string> {
    return this.options.rundir ? { OVS_RUNDIR: this.options.rundir } : {};
  }

  private async run(program: "ovs-ofctl" | "ovs-appctl", args: string[], input?: string): Promise<string> {
    const file = findProgram(program);
    const result = await execa(file, args, {
      env: this.env(),
      reject: false,
      ...(input !== undefined ? { input } : { stdin: "ignore" as const }),
    });
    if (result.exitCode !== 0)
      throw new OvsCommandError(program, args, result.exitCode, String(result.stderr));
    return String(result.stdout);
  }

  private ofctlArgs(command: string, bridge: string, rest: string[]): string[] {
    parseInput(interfaceName, bridge, "bridge");
    // "--" ends the options: nothing after it (bridge, flow, match) can be read as one, whatever
    // it starts with. Names starting with "-" are refused by interfaceName as well.
    return [
      ...(this.options.protocols ? ["-O", this.options.protocols] : []),
      "--",
      command,
      bridge,
      ...rest,
    ];
  }

  /** ovs-ofctl add-flow BRIDGE FLOW, e.g. "priority=100,arp,actions=NORMAL". */
  async addFlow(bridge: string, flow: string): Promise<void> {
    parseInput(flowText, flow, "flow");
    await this.run("ovs-ofctl", this.ofctlArgs("add-flow", bridge, [flow]));
  }

  /** Adds many flows in one ovs-ofctl run (one OpenFlow bundle of messages, read from stdin). */
  async addFlows(bridge: string, flows: readonly string[]): Promise<void> {
    for (const [i, flow] of flows.entries()) parseInput(flowText, flow, `flows.${i}`);
    await this.run("ovs-ofctl", this.ofctlArgs("add-flows", bridge, ["-"]), `${flows.join("\n")}\n`);
  }

  /** ovs-ofctl del-flows BRIDGE [MATCH]: all flows, or those matching. */
  async delFlows(bridge: string, match?: string): Promise<void> {
    if (match !== undefined) parseInput(flowText, match, "match");
    await this.run("ovs-ofctl", this.ofctlArgs("del-flows", bridge, match === undefined ? [] : [match]));
  }

  /** ovs-ofctl dump-flows BRIDGE [MATCH], parsed. */
  async dumpFlows(bridge: string, match?: string): Promise<FlowEntry[]> {
    if (match !== undefined) parseInput(flowText, match, "match");
    return parseDumpFlows(
      await this.run("ovs-ofctl", this.ofctlArgs("dump-flows", bridge, match === undefined ? [] : [match])),
    );
  }

  /** ovs-appctl fdb/show BRIDGE: the MAC learning table, parsed. */
  async fdbShow(bridge: string): Promise<FdbEntry[]> {
    parseInput(interfaceName, bridge, "bridge");
    return parseFdbShow(await this.appctl("fdb/show", [bridge]));
  }

  /**
   * Drops every flow cached in the datapath (ovs-appctl revalidator/purge), so that the next packet
   * of each stream is translated again with the current configuration. Seen here: after adding a
   * mirror, a stream that keeps its cached flow busy is not mirrored until the flow is purged.
   */
  async purgeDatapathFlows(): Promise<void> {
    await this.appctl("revalidator/purge");
  }

  /** Any ovs-appctl command to ovs-vswitchd, e.g. appctl("vlog/set", ["netflow:dbg"]). */
  async appctl(command: string, args: readonly string[] = []): Promise<string> {
    const target = this.options.rundir ? ["-t", `${this.options.rundir}/ovs-vswitchd.ctl`] : [];
    return this.run("ovs-appctl", [...target, "--", command, ...args]);
  }
}
