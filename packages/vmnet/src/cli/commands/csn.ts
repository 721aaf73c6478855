// Container-side networks (Virtlet's nettools): set up a pod's netns for a VM, recover one whose
// process died, tear one down. They need no Open vSwitch.
import { closeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { recoverContainerSideNetwork, setupContainerSideNetwork } from "../../container/index.js";
import type { ContainerSideNetwork } from "../../container/types.js";
import { VmnetInputError } from "../../errors.js";
import type { Kit } from "../command-kit.js";
import { emit, table } from "../io.js";
import { untilInterrupted } from "../session.js";

/** "tcp:8080" or "udp:5353:53" (pod port, then the VM's port when it differs), repeatable. */
function collectForward(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseForward(text: string): { protocol: "tcp" | "udp"; port: number; vmPort?: number } {
  const m = /^(tcp|udp):(\d{1,5})(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new VmnetInputError("--forward", `"${text}" is not tcp|udp:<port>[:<vm port>]`);
  return {
    protocol: m[1] as "tcp" | "udp",
    port: Number(m[2]),
    ...(m[3] !== undefined && { vmPort: Number(m[3]) }),
  };
}

/** Stops whatever servers the network runs (DHCPv4, DHCPv6, router advertisements). */
async function stopServers(net: ContainerSideNetwork): Promise<void> {
  await Promise.all([net.dhcp?.stop(), net.dhcp6?.stop(), net.routerAdvertiser?.stop()]);
}

function serves(net: ContainerSideNetwork): boolean {
  return Boolean(net.dhcp || net.dhcp6 || net.routerAdvertiser);
}

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
    .option("--mode <mode>", "bridge, tcfilter or masquerade", "bridge")
    .option("--vm-ipv4 <cidr>", "masquerade: the VM's private IPv4 address (default 10.0.2.2/24)")
    .option("--vm-ipv6 <cidr>", "masquerade: the VM's private IPv6 address (default fd10:0:2::2/120)")
    .option(
      "--forward <proto:port[:vmport]>",
      "masquerade: forward a port of the pod's address to the VM (repeatable)",
      collectForward,
    )
    .option("--result <file>", "the CNI result (JSON); default: read from the pod's links")
    .option("--no-dhcp", "do not serve the CNI identity by DHCP")
    .option("-s, --seconds <n>", "serve DHCP for n seconds, then leave the setup in place", Number)
    .description(
      "wire the pod's CNI interfaces to TAPs for a VM; serves DHCP until Ctrl-C (then leaves it set up)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  vmnet csn setup pod1 --mode bridge --result /tmp/result.json\n  vmnet csn setup pod1 --mode masquerade --forward tcp:8080:80 --forward udp:5353\n  vmnet csn teardown pod1\n",
    )
    .action(
      async (
        netns: string,
        o: {
          mode: "bridge" | "tcfilter" | "masquerade";
          result?: string;
          dhcp: boolean;
          seconds?: number;
          vmIpv4?: string;
          vmIpv6?: string;
          forward?: string[];
        },
        cmd: Command,
      ) => {
        apply(cmd);
        const masqueradeFlags = o.vmIpv4 !== undefined || o.vmIpv6 !== undefined || o.forward !== undefined;
        if (masqueradeFlags && o.mode !== "masquerade")
          throw new VmnetInputError("--mode", "--vm-ipv4, --vm-ipv6 and --forward need --mode masquerade");
        const result = o.result ? JSON.parse(await readFile(o.result, "utf8")) : undefined;
        const net = await setupContainerSideNetwork({
          netns,
          mode: o.mode,
          dhcp: o.dhcp,
          ...(result ? { result } : {}),
          ...(masqueradeFlags && {
            masquerade: {
              ...(o.vmIpv4 !== undefined && { ipv4: o.vmIpv4 }),
              ...(o.vmIpv6 !== undefined && { ipv6: o.vmIpv6 }),
              ...(o.forward !== undefined && { forwardPorts: o.forward.map(parseForward) }),
            },
          }),
        });
        describe(kit, net);
        if (serves(net)) {
          const limit = o.seconds
            ? new Promise((r) => setTimeout(r, (o.seconds as number) * 1000))
            : undefined;
          await untilInterrupted(limit);
          await stopServers(net);
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
      await stopServers(net);
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
