import type { Command } from "commander";
import type { Kit } from "../command-kit.js";
import { emit, table } from "../io.js";

export function registerBridge(program: Command, kit: Kit): void {
  const { io } = kit;
  const bridge = program
    .command("bridge")
    .description("list, inspect, create, configure and destroy bridges");
  bridge
    .command("list")
    .description("every bridge with its VLANs, taps, trunks, tunnels and mirrors")
    .action(async (_o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const infos = await bridges.info();
        emit(io, infos, () =>
          table(
            io,
            ["bridge", "vmnet", "taps", "vlans", "trunks", "tunnels", "mirrors", "netflow"],
            infos.map((b) => [
              b.name,
              b.preExisting ? "adopted" : "created",
              b.taps,
              b.vlans.join(",") || "-",
              b.trunks.join(",") || "-",
              b.tunnels.map((t) => `${t.name}(${t.type}→${t.remote})`).join(",") || "-",
              b.mirrors.map((m) => m.name).join(",") || "-",
              b.netflow ? b.netflow.targets.join(",") : "-",
            ]),
          ),
        );
      }),
    );
  bridge
    .command("create")
    .argument("<name>", "bridge name")
    .description("create the bridge (or adopt an existing one)")
    .action(async (name: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const b = await bridges.get(name);
        const info = await b.info();
        emit(io, info, () => io.out(`${name}: ${info.preExisting ? "adopted (existed before)" : "ready"}`));
      }),
    );
  bridge
    .command("destroy")
    .argument("<name>", "bridge name")
    .description("remove what vmnet made on the bridge, and the bridge if vmnet created it")
    .action(async (name: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await bridges.destroyBridge(name);
        emit(io, { destroyed: name }, () => io.out(`${name}: destroyed`));
      }),
    );
  bridge
    .command("config")
    .argument("<name>", "bridge name")
    .argument("<key>", "other_config key, e.g. mac-aging-time")
    .argument("[value]", "the value; leave out to remove the key")
    .description("set or remove a key of the bridge's other_config")
    .action(async (name: string, key: string, value: string | undefined, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const b = await bridges.existing(name);
        await b.config(key, value);
        const config = (await b.info()).config;
        emit(io, config, () => io.out(`${name}: ${key}=${config[key] ?? "(removed)"}`));
      }),
    );
}
