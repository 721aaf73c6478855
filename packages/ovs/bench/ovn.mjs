// Benchmark: N logical switch ports created in OVN's northbound database and bound on 3 simulated
// chassis, timed until ovn-controller has reported every one of them up
// (Logical_Switch_Port.up, watched by one NB monitor, the same wait for every side).
// vmnet: OvnNorthbound.addLogicalPorts, ONE transaction. Peers: ONE chained `ovn-nbctl` for all N,
// and `ovn-nbctl` once per port (lsp-add + lsp-set-addresses chained for that port), measured on
// BENCH_OVN_PER_PORT ports (default N: measured, not scaled; with fewer it is scaled to N, a lower
// bound since each ovn-nbctl reads the whole database, and vmnet on as few ports is reported too).
// The OVS side of the binding (an interface with external_ids:iface-id on the chassis's br-int) is
// made once before the runs and is the same for every side: what differs is only how the ports
// reach the northbound database.
//
// Every timed run starts from the same state (untimed): the previous run's ports AND its logical
// switch are deleted, the switch is made again, OvnNorthbound.sync({ wait: "hv" }) after each (what
// `ovn-nbctl --wait=hv sync` does: every chassis has processed the deletion, then the new switch),
// then the deployment's daemons are waited for until idle (ovn-northd, both ovsdb-servers, every
// ovn-controller, ovs-vswitchd and chassis ovsdb-server together under 5% of a CPU over 0.5 s).
// Why: after the claims (about 1 s), the time is the ovn-controllers', from 0.7 s of CPU each (one
// full recompute) to 3-7 s (their incremental physical_flow_output handler for changed
// Port_Bindings, "handler for input SB_port_binding took 2-12 s" in their logs), depending on how
// the southbound updates interleave; reusing the switch made the costly path the rule after the
// first run. bench/ovn-phases.mjs shows it run by run.
// Sides alternate which goes first in each run. Median of BENCH_RUNS runs (default 5;
// BENCH_OVN_PER_PORT_RUNS for the per-port side, default 2: about 4 minutes each, and 1000
// sequential processes vary little), all in this process; each row also carries every side's
// min and max, and each sample the CPU the three ovn-controllers spent on it (which path they took).
// Writes bench/results/ovn.json and ovn-context.json (or BENCH_RESULTS_DIR/...).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { OvnSandbox } from "../dist/index.js";
import { describeRow, ovnRows } from "./ovn-rows.mjs";

const N = Number(process.env.BENCH_OVN_PORTS ?? 1000);
const PER_PORT_N = Math.min(N, Number(process.env.BENCH_OVN_PER_PORT ?? N));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PER_PORT_RUNS = Number(process.env.BENCH_OVN_PER_PORT_RUNS ?? 2);
const UP_TIMEOUT_MS = Number(process.env.BENCH_OVN_UP_TIMEOUT_MS ?? 600_000);
const CHASSIS = 3;
const SWITCH = "bench";

const seconds = (t0) => (performance.now() - t0) / 1000;
const hex = (n) => n.toString(16).padStart(2, "0");
const portName = (i) => `lp${i}`;
const address = (i) =>
  `0a:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)} 10.100.${(i >> 8) & 255}.${(i & 255) + 1}`;
const specs = (n) => Array.from({ length: n }, (_, i) => ({ name: portName(i), addresses: [address(i)] }));
const nameList = (n) => Array.from({ length: n }, (_, i) => portName(i));

const load = loadavg();
console.log(
  `ovn bench: load ${load.map((x) => x.toFixed(2)).join(" ")}; ${RUNS} runs, ${N} ports on ${CHASSIS} chassis (per-port peer: ${PER_PORT_N} ports, ${PER_PORT_RUNS} runs)`,
);
const ovn = await OvnSandbox.start({ chassis: CHASSIS, prefix: `ob${process.pid % 100000}` });
const nb = ovn.northbound;
const nbctl = (args) => execa("ovn-nbctl", [`--db=${ovn.nbRemote}`, ...args], { stdin: "ignore" });

// CPU ticks (utime + stime) of every daemon of the deployment.
const daemonPids = () => [
  ...Object.values(ovn.central.pids),
  ...ovn.chassis.flatMap((c) => [c.controllerPid, ...Object.values(c.ovs.pids)]),
];
const ticks = async () => {
  let sum = 0;
  for (const pid of daemonPids()) {
    const stat = await readFile(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    sum += Number(fields[11]) + Number(fields[12]);
  }
  return sum;
};
// CPU seconds the three ovn-controllers spent together: about 0.7 s each on the fast path, 3-8 s
// each when their incremental port-binding handler ran on big batches (see the README).
const controllerSeconds = async () => {
  let sum = 0;
  for (const c of ovn.chassis) {
    const stat = await readFile(`/proc/${c.controllerPid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    sum += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return sum;
};
// Idle: the daemons together used under 5% of one CPU over the last 0.5 s (ticks are 10 ms).
const waitIdle = async (timeoutMs = 30_000) => {
  const t0 = performance.now();
  let before = await ticks();
  while (performance.now() - t0 < timeoutMs) {
    await sleep(500);
    const now = await ticks();
    if (now - before <= 2) return seconds(t0);
    before = now;
  }
  console.log(`  control plane still busy after ${timeoutMs} ms; going on`);
  return seconds(t0);
};

try {
  await nb.addLogicalSwitch({ name: SWITCH });
  // The OVS half of every binding, made once: port i lives on chassis i % 3.
  const t0 = performance.now();
  for (const [c, chassis] of ovn.chassis.entries()) {
    const mine = nameList(N).filter((_, i) => i % CHASSIS === c);
    await chassis.ovs.vswitch.addPorts(
      "br-int",
      mine.map((name) => ({ name: `i${name}`, type: "internal", externalIds: { "iface-id": name } })),
    );
  }
  console.log(`bindings on the chassis made in ${seconds(t0).toFixed(1)} s`);

  const samples = {};
  const details = {};
  const add = (key, value, detail) => {
    samples[key] ??= [];
    samples[key].push(value);
    details[key] ??= [];
    details[key].push(detail);
  };
  const idleWaits = [];
  const settle = async () => {
    await nb.deleteLogicalPorts(
      (await nb.listLogicalPorts(SWITCH)).map((p) => p.name),
      { ifExists: true },
    );
    await nb.deleteLogicalSwitch(SWITCH, { ifExists: true });
    await nb.sync({ wait: "hv", timeoutMs: UP_TIMEOUT_MS });
    await nb.addLogicalSwitch({ name: SWITCH });
    await nb.sync({ wait: "hv", timeoutMs: UP_TIMEOUT_MS });
    idleWaits.push(Number((await waitIdle()).toFixed(2)));
  };
  const timed = async (key, n, create) => {
    await settle();
    const loadBefore = loadavg()[0];
    const cpuBefore = await controllerSeconds();
    const t = performance.now();
    await create();
    const commit = seconds(t);
    await nb.waitPortsUp(nameList(n), { timeoutMs: UP_TIMEOUT_MS });
    const total = seconds(t);
    const controllerCpu = Number(((await controllerSeconds()) - cpuBefore).toFixed(2));
    add(key, total, {
      commit_s: Number(commit.toFixed(3)),
      load1: loadBefore,
      controller_cpu_s: controllerCpu,
    });
    console.log(
      `  ${key}: ${total.toFixed(3)} s (committed after ${commit.toFixed(3)} s, load ${loadBefore.toFixed(2)}, ovn-controllers ${controllerCpu} s of CPU)`,
    );
  };
  const chainedArgs = (n) =>
    specs(n).flatMap((s) => [
      "--",
      "lsp-add",
      SWITCH,
      s.name,
      "--",
      "lsp-set-addresses",
      s.name,
      s.addresses[0],
    ]);
  const sides = {
    vmnet: () => timed(`vmnet:${N}`, N, () => nb.addLogicalPorts(SWITCH, specs(N))),
    chained: () => timed(`chained:${N}`, N, () => nbctl(chainedArgs(N))),
  };

  for (let run = 0; run < RUNS; run++) {
    console.log(`run ${run + 1}`);
    // Alternate which side goes first, so neither always follows the other.
    const order = run % 2 === 0 ? ["vmnet", "chained"] : ["chained", "vmnet"];
    for (const side of order) await sides[side]();
    if (PER_PORT_N < N)
      await timed(`vmnet:${PER_PORT_N}`, PER_PORT_N, () => nb.addLogicalPorts(SWITCH, specs(PER_PORT_N)));
  }
  for (let run = 0; run < PER_PORT_RUNS; run++)
    await timed(`perport:${PER_PORT_N}`, PER_PORT_N, async () => {
      for (const s of specs(PER_PORT_N))
        await nbctl(["lsp-add", SWITCH, s.name, "--", "lsp-set-addresses", s.name, s.addresses[0]]);
    });

  const rows = ovnRows({ samples, ports: N, per_port: PER_PORT_N, chassis: CHASSIS });
  for (const row of rows) console.log(describeRow(row));
  const resultsDir = process.env.BENCH_RESULTS_DIR
    ? `${process.env.BENCH_RESULTS_DIR}/`
    : new URL("./results/", import.meta.url).pathname;
  await mkdir(resultsDir, { recursive: true });
  await writeFile(`${resultsDir}ovn.json`, `${JSON.stringify(rows, null, 2)}\n`);
  await writeFile(
    `${resultsDir}ovn-context.json`,
    `${JSON.stringify(
      {
        load_before: load,
        load_after: loadavg(),
        runs: RUNS,
        per_port_runs: PER_PORT_RUNS,
        ports: N,
        per_port: PER_PORT_N,
        chassis: CHASSIS,
        samples,
        details,
        idle_wait_s: idleWaits,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await ovn.stop();
}
