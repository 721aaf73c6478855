// Benchmark: N logical switch ports created in OVN's northbound database and bound on 3 simulated
// chassis, timed until ovn-controller has reported every one of them up
// (Logical_Switch_Port.up, watched by one NB monitor, the same wait for every side).
// vmnet: OvnNorthbound.addLogicalPorts, ONE transaction. Peers: `ovn-nbctl` once per port
// (lsp-add + lsp-set-addresses chained for that port; measured on BENCH_OVN_PER_PORT ports and
// scaled to N; vmnet on as few ports is in ovn-context.json), and ONE chained `ovn-nbctl` for all N.
// The OVS side of the binding (an interface with external_ids:iface-id on the chassis's br-int) is
// made once before the runs and is the same for every side: what differs is only how the ports
// reach the northbound database. Between runs the ports are deleted and `ovn-nbctl --wait=hv sync`
// lets every chassis settle (untimed). Median of BENCH_RUNS runs (default 3), all in this process.
// Writes bench/results/ovn.json (or BENCH_RESULTS_DIR/ovn.json).
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { execa } from "execa";
import { OvnSandbox } from "../dist/index.js";

const N = Number(process.env.BENCH_OVN_PORTS ?? 1000);
const PER_PORT_N = Math.min(N, Number(process.env.BENCH_OVN_PER_PORT ?? 100));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHASSIS = 3;
const SWITCH = "bench";

const seconds = (t0) => (performance.now() - t0) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const hex = (n) => n.toString(16).padStart(2, "0");
const portName = (i) => `lp${i}`;
const address = (i) =>
  `0a:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)} 10.100.${(i >> 8) & 255}.${(i & 255) + 1}`;
const specs = (n) => Array.from({ length: n }, (_, i) => ({ name: portName(i), addresses: [address(i)] }));
const nameList = (n) => Array.from({ length: n }, (_, i) => portName(i));

const load = loadavg();
console.log(
  `ovn bench: load ${load.map((x) => x.toFixed(2)).join(" ")}; ${RUNS} runs, ${N} ports on ${CHASSIS} chassis (per-port peer: ${PER_PORT_N})`,
);
const ovn = await OvnSandbox.start({ chassis: CHASSIS, prefix: `ob${process.pid % 100000}` });
const nb = ovn.northbound;
const nbctl = (args) => execa("ovn-nbctl", [`--db=${ovn.nbRemote}`, ...args], { stdin: "ignore" });
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
  const add = (key, value) => {
    samples[key] ??= [];
    samples[key].push(value);
  };
  const settle = async () => {
    await nb.deleteLogicalPorts(
      (await nb.listLogicalPorts(SWITCH)).map((p) => p.name),
      { ifExists: true },
    );
    await nbctl(["--wait=hv", "sync"]);
  };
  const timed = async (key, n, create) => {
    const t = performance.now();
    await create();
    await nb.waitPortsUp(nameList(n), { timeoutMs: Number(process.env.BENCH_OVN_UP_TIMEOUT_MS ?? 120_000) });
    add(key, seconds(t));
    await settle();
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

  await settle();
  for (let run = 0; run < RUNS; run++) {
    await timed(`vmnet:${N}`, N, () => nb.addLogicalPorts(SWITCH, specs(N)));
    await timed(`chained:${N}`, N, () => nbctl(chainedArgs(N)));
    await timed(`vmnet:${PER_PORT_N}`, PER_PORT_N, () => nb.addLogicalPorts(SWITCH, specs(PER_PORT_N)));
    await timed(`perport:${PER_PORT_N}`, PER_PORT_N, async () => {
      for (const s of specs(PER_PORT_N))
        await nbctl(["lsp-add", SWITCH, s.name, "--", "lsp-set-addresses", s.name, s.addresses[0]]);
    });
    console.log(
      `run ${run + 1}: ${Object.entries(samples)
        .map(([k, v]) => `${k}=${v.at(-1).toFixed(3)}s`)
        .join(" ")}`,
    );
  }
  const m = (key) => median(samples[key]);
  const rows = [
    {
      workload: `${N} logical ports created and bound on ${CHASSIS} chassis, until all up`,
      subject: "vmnet",
      peer: "ovn-nbctl chained",
      subject_s: m(`vmnet:${N}`),
      peer_s: m(`chained:${N}`),
    },
    {
      workload: `${N} logical ports created and bound on ${CHASSIS} chassis, until all up (ovn-nbctl per port measured on ${PER_PORT_N} ports and scaled to ${N})`,
      subject: "vmnet",
      peer: "ovn-nbctl per port",
      subject_s: m(`vmnet:${N}`),
      peer_s: (m(`perport:${PER_PORT_N}`) * N) / PER_PORT_N,
    },
    {
      workload: `${PER_PORT_N} logical ports created and bound on ${CHASSIS} chassis, until all up (both sides on the same ${PER_PORT_N} ports)`,
      subject: "vmnet",
      peer: "ovn-nbctl per port",
      subject_s: m(`vmnet:${PER_PORT_N}`),
      peer_s: m(`perport:${PER_PORT_N}`),
    },
  ].map((row) => ({ ...row, ratio: Number((row.peer_s / row.subject_s).toFixed(2)) }));
  for (const row of rows)
    console.log(
      `${row.workload}: vmnet ${row.subject_s.toFixed(3)} s, ${row.peer} ${row.peer_s.toFixed(3)} s, ${row.ratio}x`,
    );
  const resultsDir = process.env.BENCH_RESULTS_DIR
    ? `${process.env.BENCH_RESULTS_DIR}/`
    : new URL("./results/", import.meta.url).pathname;
  await mkdir(resultsDir, { recursive: true });
  await writeFile(`${resultsDir}ovn.json`, `${JSON.stringify(rows, null, 2)}\n`);
  await writeFile(
    `${resultsDir}ovn-context.json`,
    `${JSON.stringify({ load_before: load, load_after: loadavg(), runs: RUNS, ports: N, per_port: PER_PORT_N, chassis: CHASSIS, samples }, null, 2)}\n`,
  );
} finally {
  await ovn.stop();
}
