// Trunks, tunnels and mirrors.
import type { Command } from "commander";
import { collect, int, intList, type Kit } from "../command-kit.js";
import { emit } from "../io.js";

export function registerPorts(program: Command, kit: Kit): void {
  const { io } = kit;
  const trunk = program.command("trunk").description("add or remove trunk ports (existing interfaces)");
  trunk
    .command("add")
    .argument("<bridge>")
    .argument("<iface>", "an existing interface")
    .option("--vlan <id>", "carry only these VLANs (repeatable)", intList("--vlan"))
    .action(async (bridge: string, iface: string, o: { vlan?: number[] }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await (await bridges.get(bridge)).addTrunk({ iface, ...(o.vlan ? { vlans: o.vlan } : {}) });
        emit(io, { bridge, trunk: iface }, () => io.out(`${iface}: trunk on ${bridge}`));
      }),
    );
  trunk
    .command("remove")
    .argument("<bridge>")
    .argument("<iface>")
    .action(async (bridge: string, iface: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await (await bridges.existing(bridge)).removeTrunk(iface);
        emit(io, { bridge, removed: iface }, () => io.out(`${iface}: removed from ${bridge}`));
      }),
    );

  const tunnel = program.command("tunnel").description("VXLAN/GRE tunnels to other hosts' bridges");
  tunnel
    .command("add")
    .argument("<bridge>")
    .requiredOption("--type <type>", "vxlan or gre")
    .requiredOption("--remote <ip>", "the other host's underlay address")
    .option("--key <n>", "VNI / GRE key", int("--key"))
    .option("--name <name>", "port name (default vxlanN / greN)")
    .addHelpText(
      "after",
      "\nExample:\n  vmnet tunnel add lab --type vxlan --remote 192.168.77.2 --key 5000\n",
    )
    .action(
      async (
        bridge: string,
        o: { type: "vxlan" | "gre"; remote: string; key?: number; name?: string },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const name = await (await bridges.get(bridge)).addTunnel({
            type: o.type,
            remote: o.remote,
            ...(o.key !== undefined ? { key: o.key } : {}),
            ...(o.name ? { name: o.name } : {}),
          });
          emit(io, { bridge, tunnel: name }, () => io.out(name));
        }),
    );
  tunnel
    .command("remove")
    .argument("<bridge>")
    .argument("<name>")
    .action(async (bridge: string, name: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await (await bridges.existing(bridge)).removeTunnel(name);
        emit(io, { bridge, removed: name }, () => io.out(`${name}: removed`));
      }),
    );

  const mirror = program.command("mirror").description("mirror traffic into a port");
  mirror
    .command("add")
    .argument("<bridge>")
    .requiredOption("--output <tap>", "port that receives the copies")
    .option("--source <tap>", "mirror this tap (repeatable; default: everything)", collect)
    .option("--vlan <id>", "mirror this VLAN (repeatable)", intList("--vlan"))
    .option("--name <name>", "mirror name")
    .action(
      async (
        bridge: string,
        o: { output: string; source?: string[]; vlan?: number[]; name?: string },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const name = await (await bridges.existing(bridge)).createMirror({
            output: o.output,
            ...(o.source ? { sources: o.source } : {}),
            ...(o.vlan ? { vlans: o.vlan } : {}),
            ...(o.name ? { name: o.name } : {}),
          });
          emit(io, { bridge, mirror: name }, () => io.out(name));
        }),
    );
  mirror
    .command("remove")
    .argument("<bridge>")
    .argument("<name>")
    .action(async (bridge: string, name: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await (await bridges.existing(bridge)).destroyMirror(name);
        emit(io, { bridge, removed: name }, () => io.out(`${name}: removed`));
      }),
    );
}
