import type { Command } from "commander";
import type { Tap } from "../../bridges/tap.js";
import { int, type Kit } from "../command-kit.js";
import { emit, progress, table } from "../io.js";

function tapRows(taps: Tap[]) {
  return taps.map((t) => [
    t.name,
    t.bridge,
    t.kind,
    t.vlan ?? "trunk",
    t.mac,
    t.up ? "up" : "down",
    t.defunct ? "defunct" : "",
    [...t.ipv4, ...t.ipv6].join(",") || "-",
    t.container,
  ]);
}

export function registerTap(program: Command, kit: Kit): void {
  const { io } = kit;
  const tap = program.command("tap").description("create, list, move and destroy taps");
  tap
    .command("list")
    .option("-b, --bridge <name>", "only this bridge")
    .description("vmnet's taps: bridge, kind, VLAN, MAC, state, snooped IPs")
    .action(async (o: { bridge?: string }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const taps = (await bridges.taps()).filter((t) => !o.bridge || t.bridge === o.bridge);
        emit(io, taps, () =>
          table(io, ["tap", "bridge", "kind", "vlan", "mac", "state", "", "ips", "container"], tapRows(taps)),
        );
      }),
    );
  tap
    .command("create")
    .option("-b, --bridge <name>", "bridge (default: the default bridge, mega_bridge)")
    .option("--vlan <id>", "access VLAN (default: trunk)", int("--vlan"))
    .option("--mac <mac>", "the VM's MAC behind the tap")
    .option("-n, --count <n>", "create this many at once (one batch)", int("--count"), 1)
    .option("--name <name>", "tap name (default: the next free mega_tapN)")
    .description("create taps (kernel TAP + OVS port); many at once are one batch")
    .addHelpText(
      "after",
      "\nExamples:\n  vmnet tap create --vlan 10\n  vmnet tap create -b lab --vlan 20 -n 1000\n",
    )
    .action(
      async (
        o: { bridge?: string; vlan?: number; mac?: string; count: number; name?: string },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const b = await bridges.get(o.bridge);
          const spec = {
            ...(o.vlan !== undefined ? { vlan: o.vlan } : {}),
            ...(o.mac ? { mac: o.mac } : {}),
            ...(o.name ? { name: o.name } : {}),
          };
          const bar = progress(io, "creating taps");
          try {
            const names = await b.createTaps(
              Array.from({ length: o.count }, () => spec),
              bar.onProgress ? { onProgress: bar.onProgress } : {},
            );
            bar.stop();
            emit(io, names, () =>
              io.out(names.length > 10 ? `${names.length} taps created on ${b.name}` : names.join("\n")),
            );
          } finally {
            bar.stop();
          }
        }),
    );
  tap
    .command("host")
    .option("-b, --bridge <name>", "bridge")
    .option("--vlan <id>", "access VLAN", int("--vlan"))
    .option("--address <cidr>", "address for the host on this tap, e.g. 10.0.0.254/24")
    .description("create a host tap (an OVS internal port the host uses)")
    .action(async (o: { bridge?: string; vlan?: number; address?: string }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const b = await bridges.get(o.bridge);
        const name = await b.createHostTap({
          ...(o.vlan !== undefined ? { vlan: o.vlan } : {}),
          ...(o.address ? { address: o.address } : {}),
        });
        emit(io, { name }, () => io.out(name));
      }),
    );
  tap
    .command("container")
    .argument("<netns>", "the container's network namespace")
    .option("-b, --bridge <name>", "bridge")
    .option("--vlan <id>", "access VLAN", int("--vlan"))
    .option("--mac <mac>", "MAC of the inner end")
    .option("--index <n>", "inner end becomes eth<n>", int("--index"), 0)
    .option("--address <cidr>", "address of the inner end")
    .description("create a container tap: a veth whose inner end goes into <netns>")
    .action(
      async (
        netns: string,
        o: { bridge?: string; vlan?: number; mac?: string; index: number; address?: string },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const b = await bridges.get(o.bridge);
          const name = await b.createContainerTap({
            netns,
            index: o.index,
            ...(o.vlan !== undefined ? { vlan: o.vlan } : {}),
            ...(o.mac ? { mac: o.mac } : {}),
            ...(o.address ? { address: o.address } : {}),
          });
          emit(io, { name }, () => io.out(name));
        }),
    );
  tap
    .command("move")
    .argument("<tap>", "tap name")
    .requiredOption("-b, --bridge <name>", "target bridge")
    .option("--vlan <id>", "new VLAN (default: trunk)", int("--vlan"))
    .description("move a tap to another bridge and/or VLAN")
    .action(async (name: string, o: { bridge: string; vlan?: number }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const b = await bridges.get(o.bridge);
        await b.addTap(name, o.vlan !== undefined ? { vlan: o.vlan } : {});
        emit(io, { tap: name, bridge: o.bridge, vlan: o.vlan }, () =>
          io.out(`${name}: on ${o.bridge} vlan ${o.vlan ?? "trunk"}`),
        );
      }),
    );
  tap
    .command("destroy")
    .argument("<taps...>", "tap names")
    .option("--defunct", "only mark them defunct (reaped later by `vmnet tap reap`)")
    .description("destroy taps now (one transaction, one group delete), or mark them defunct")
    .action(async (names: string[], o: { defunct?: boolean }, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const taps = await bridges.taps();
        const byBridge = new Map<string, string[]>();
        for (const n of names) {
          const t = taps.find((x) => x.name === n);
          if (!t) throw new Error(`${n}: no such vmnet tap`);
          byBridge.set(t.bridge, [...(byBridge.get(t.bridge) ?? []), n]);
        }
        const bar = progress(io, "destroying taps");
        try {
          for (const [bridgeName, list] of byBridge) {
            const b = await bridges.existing(bridgeName);
            if (o.defunct) for (const n of list) await b.destroyTap(n);
            else await b.destroyTaps(list, bar.onProgress ? { onProgress: bar.onProgress } : {});
          }
        } finally {
          bar.stop();
        }
        emit(io, { [o.defunct ? "defunct" : "destroyed"]: names }, () =>
          io.out(`${names.length} tap(s) ${o.defunct ? "marked defunct" : "destroyed"}`),
        );
      }),
    );
  tap
    .command("reap")
    .description("remove every defunct tap at once")
    .action(async (_o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const reaped = await bridges.reapTaps();
        emit(io, reaped, () => io.out(`${reaped.length} defunct tap(s) removed`));
      }),
    );
}
