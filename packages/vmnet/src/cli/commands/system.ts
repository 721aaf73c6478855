import type { Command } from "commander";
import { Bridges } from "../../bridges/bridges.js";
import type { Kit } from "../command-kit.js";
import { emit } from "../io.js";
import type { GlobalOptions } from "../session.js";

export class OvsUnavailable extends Error {}

export function registerSystem(program: Command, kit: Kit): void {
  const { io } = kit;
  program
    .command("check")
    .description("is Open vSwitch usable? says what is missing and which Debian package brings it")
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      io.json = Boolean(g.json);
      const check = await Bridges.checkOvs(g.db && g.db !== "system" ? g.db : undefined);
      emit(io, check, () =>
        io.out(check.ok ? `Open vSwitch at ${check.remote}: ok` : check.problems.join("\n")),
      );
      if (!check.ok) throw new OvsUnavailable(`Open vSwitch is not usable at ${check.remote}`);
    });
  program
    .command("reap")
    .description("remove what dead vmnet processes of this owner left (never foreign objects)")
    .action(async (_o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const report = await bridges.reapLeftovers();
        emit(io, report, () =>
          io.out(
            `reaped ${report.ports.length} port(s), ${report.links.length} link(s), ${report.mirrors.length} mirror(s), ${report.bridges.length} bridge(s)`,
          ),
        );
      }),
    );
}
