// Container-side networks (Virtlet's nettools): set up a pod's netns for a VM, recover one whose
// process died, tear one down. They need no Open vSwitch.
import { closeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { recoverContainerSideNetwork, setupContainerSideNetwork } from "../../container/index.js";
import type { ContainerSideNetwork } from "../../container/types.js";
import type { Kit } from "../command-kit.js";
import { emit, table } from "../io.js";
import { untilInterrupted } from "../session.js";

function describe(kit: Kit, csn: ContainerSideNetwork): void {
  emit(
    kit.io,
    {
      netns: csn.netns,
      mode: csn.mode,
      journal: csn.journalPath,
      interfaces: csn.interfaces.map((i) => ({
        name: i.name,
        tap: i.tap.name,
        mac: i.hardwareAddr,
        mtu: i.mtu,
        bridge: i.bridge,
      })),
      result: csn.result,
    },
    () =>
      table(
        kit.io,
        ["interface", "tap", "VM MAC", "mtu", "bridge"],
        csn.interfaces.map((i) => [i.name, i.tap.name, i.hardwareAddr, i.mtu, i.bridge]),
      ),
  );
}

export function registerCsn(program: Command, kit: Kit): void {
  const csn = program
    .command("csn")
    .description("container-side networks: a pod's CNI interface handed to a VM");
  const apply = (cmd: Command) => {
    const g = cmd.optsWithGlobals() as { json?: boolean; quiet?: boolean };
    kit.io.json = Boolean(g.json);
    kit.io.quiet = Boolean(g.quiet);
  };
  csn
    .command("setup")
    .argument("<netns>", "the pod's network namespace (name or path)")
    .option("--mode <mode>", "bridge or tcfilter", "bridge")
    .option("--result <file>", "the CNI result (JSON); default: read from the pod's links")
    .option("--no-dhcp", "do not serve the CNI identity by DHCP")
    .option("-s, --seconds <n>", "serve DHCP for n seconds, then leave the setup in place", Number)
    .description(
      "wire the pod's CNI interfaces to TAPs for a VM; serves DHCP until Ctrl-C (then leaves it set up)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  vmnet csn setup pod1 --mode bridge --result /tmp/result.json\n  vmnet csn teardown pod1\n",
    )
    .action(
      async (
        netns: string,
        o: { mode: "bridge" | "tcfilter"; result?: string; dhcp: boolean; seconds?: number },
        cmd: Command,
      ) => {
        apply(cmd);
        const result = o.result ? JSON.parse(await readFile(o.result, "utf8")) : undefined;
        const net = await setupContainerSideNetwork({
          netns,
          mode: o.mode,
          dhcp: o.dhcp,
          ...(result ? { result } : {}),
        });
        describe(kit, net);
        if (net.dhcp) {
          const limit = o.seconds
            ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000))
            : undefined;
          await untilInterrupted(limit);
          await net.dhcp.stop();
        }
        // The TAPs are persistent: the VM opens them by name later.
        for (const i of net.interfaces) for (const fd of i.tap.fds) closeSync(fd);
      },
    );
  csn
    .command("recover")
    .argument("<netns>")
    .option("-s, --seconds <n>", "serve DHCP for n seconds", Number)
    .description("re-open the TAPs of a pod network whose process died and serve DHCP again")
    .action(async (netns: string, o: { seconds?: number }, cmd: Command) => {
      apply(cmd);
      const net = await recoverContainerSideNetwork(netns, {});
      if (!net) {
        kit.io.out("setup had not completed: torn down");
        return;
      }
      describe(kit, net);
      const limit = o.seconds ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000)) : undefined;
      await untilInterrupted(limit);
      await net.dhcp?.stop();
    });
  csn
    .command("teardown")
    .argument("<netns>")
    .description("restore the pod's netns exactly as setup found it")
    .action(async (netns: string, _o, cmd: Command) => {
      apply(cmd);
      await recoverContainerSideNetwork(netns, { teardown: true });
      emit(kit.io, { tornDown: netns }, () => kit.io.out(`${netns}: restored`));
    });
}
