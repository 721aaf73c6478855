import type { Command } from "commander";
import type { QosSpec, QosState } from "../../bridges/qos.js";
import type { Kit } from "../command-kit.js";
import { emit, table } from "../io.js";

function show(state: QosState): (string | number | undefined)[][] {
  const rows: (string | number | undefined)[][] = [];
  if (state.rate !== undefined) rows.push(["rate (bytes/s)", state.rate]);
  if (state.delay !== undefined) rows.push(["delay (us)", state.delay]);
  if (state.jitter !== undefined) rows.push(["jitter (us)", state.jitter]);
  if (state.loss !== undefined) rows.push(["loss", JSON.stringify(state.loss)]);
  if (state.ingress) rows.push(["ingress rate (bytes/s)", state.ingress.rate]);
  rows.push(["qdiscs", state.qdiscs.map((q) => `${q.kind} ${q.handle}`).join(", ") || "(default)"]);
  return rows;
}

export function registerQos(program: Command, kit: Kit): void {
  const { io } = kit;
  const qos = program
    .command("qos")
    .description("rate, delay, jitter and loss on a tap (egress and ingress)");
  qos
    .command("set")
    .argument("<bridge>")
    .argument("<tap>")
    .option("--rate <rate>", 'e.g. "10mbit"')
    .option("--delay <time>", 'e.g. "50ms" (needs the kernel\'s netem)')
    .option("--jitter <time>", 'e.g. "5ms"')
    .option("--loss <percent>", 'e.g. "1%"')
    .option("--ingress-rate <rate>", "shape what the VM sends (through an ifb)")
    .addHelpText("after", "\nExample:\n  vmnet qos set lab mega_tap0 --rate 10mbit --ingress-rate 5mbit\n")
    .action(
      async (
        bridge: string,
        tap: string,
        o: { rate?: string; delay?: string; jitter?: string; loss?: string; ingressRate?: string },
        cmd: Command,
      ) =>
        kit.withBridges(cmd, async ({ bridges }) => {
          const spec: QosSpec = {
            ...(o.rate ? { rate: o.rate } : {}),
            ...(o.delay ? { delay: o.delay } : {}),
            ...(o.jitter ? { jitter: o.jitter } : {}),
            ...(o.loss ? { loss: o.loss } : {}),
            ...(o.ingressRate ? { ingress: { rate: o.ingressRate } } : {}),
          } as QosSpec;
          const state = await (await bridges.existing(bridge)).updateQos(tap, spec);
          emit(io, state, () => table(io, ["qos", "value"], show(state)));
        }),
    );
  qos
    .command("show")
    .argument("<bridge>")
    .argument("<tap>")
    .description("what the kernel holds for the tap")
    .action(async (bridge: string, tap: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        const state = await (await bridges.existing(bridge)).getQos(tap);
        emit(io, state, () => table(io, ["qos", "value"], show(state)));
      }),
    );
  qos
    .command("clear")
    .argument("<bridge>")
    .argument("<tap>")
    .action(async (bridge: string, tap: string, _o, cmd: Command) =>
      kit.withBridges(cmd, async ({ bridges }) => {
        await (await bridges.existing(bridge)).removeQos(tap);
        emit(io, { cleared: tap }, () => io.out(`${tap}: QoS removed`));
      }),
    );
}
