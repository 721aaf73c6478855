// Diagnostic (not part of `pnpm bench`): where the time of "N ports created and bound on 3 chassis"
// goes, run by run. For each run it prints when the commit returned, when ovn-northd had made all N
// Port_Binding rows, when every one had a chassis (claimed by ovn-controller), when ovn-controller
// had set Port_Binding.up on all, and when ovn-northd had copied that to Logical_Switch_Port.up; the
// CPU seconds each daemon spent; and each ovn-controller's engine events of that run (seconds
// after the commit started): every recompute with its reason and every change handler that took
// 40 ms or more (inc_proc_eng logging at debug level). Runs start as bench/ovn.mjs's do (fresh
// switch, sync hv).
// OVN_PHASES_TOUCH=10,100,1000 then also changes one option of K bound ports at once (one NB
// transaction, so ovn-northd updates K Port_Bindings) and prints what each controller spent on it:
// the cost of K changed bindings on a switch of N ports, with nothing else going on.
//   vmnet-isolate node bench/ovn-phases.mjs            (OVN_PHASES_PORTS=1000, OVN_PHASES_RUNS=3,
//   OVN_PHASES_SIDES=vmnet,chained to alternate vmnet's one transaction and one chained ovn-nbctl)
import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { OvnSandbox } from "../dist/index.js";

const N = Number(process.env.OVN_PHASES_PORTS ?? 1000);
const RUNS = Number(process.env.OVN_PHASES_RUNS ?? 3);
const SIDES = (process.env.OVN_PHASES_SIDES ?? "vmnet").split(",");
const TOUCH = (process.env.OVN_PHASES_TOUCH ?? "").split(",").filter(Boolean).map(Number);
const SWITCH = "bench";
const hex = (n) => n.toString(16).padStart(2, "0");
const specs = Array.from({ length: N }, (_, i) => ({
  name: `lp${i}`,
  addresses: [
    `0a:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)} 10.100.${(i >> 8) & 255}.${(i & 255) + 1}`,
  ],
}));
const names = specs.map((s) => s.name);

const cpuSeconds = async (pid) => {
  const stat = await readFile(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

console.log(
  `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}; ${N} ports, ${RUNS} runs, sides ${SIDES}`,
);
const ovn = await OvnSandbox.start({ chassis: 3, prefix: `op${process.pid % 100000}` });
const nb = ovn.northbound;
const daemons = () => ({
  ...ovn.central.pids,
  ...Object.fromEntries(ovn.chassis.map((c) => [`controller-${c.name.slice(-1)}`, c.controllerPid])),
  ...Object.fromEntries(ovn.chassis.map((c) => [`vswitchd-${c.name.slice(-1)}`, c.ovs.pids["ovs-vswitchd"]])),
});
const cpu = async () => {
  const out = {};
  for (const [name, pid] of Object.entries(daemons())) out[name] = await cpuSeconds(pid);
  return out;
};
try {
  await nb.addLogicalSwitch({ name: SWITCH });
  for (const [c, chassis] of ovn.chassis.entries())
    await chassis.ovs.vswitch.addPorts(
      "br-int",
      names
        .filter((_, i) => i % 3 === c)
        .map((name) => ({ name: `i${name}`, type: "internal", externalIds: { "iface-id": name } })),
    );
  const sbMonitor = await ovn.central.southbound.monitor(
    { Port_Binding: { columns: ["logical_port", "chassis", "up"] } },
    { database: "OVN_Southbound" },
  );
  const nbMonitor = await nb.client.monitor(
    { Logical_Switch_Port: { columns: ["name", "up"] } },
    { database: "OVN_Northbound" },
  );
  const counts = () => {
    const c = { rows: 0, claimed: 0, sbUp: 0, nbUp: 0 };
    for (const row of sbMonitor.rows("Port_Binding").values()) {
      c.rows++;
      if (Array.isArray(row.chassis) && row.chassis[0] === "uuid") c.claimed++;
      if (row.up === true) c.sbUp++;
    }
    for (const row of nbMonitor.rows("Logical_Switch_Port").values()) if (row.up === true) c.nbUp++;
    return c;
  };
  // ovn-controller has no --unixctl: its control socket is ovn-controller.<pid>.ctl in its rundir.
  const appctl = (c, ...args) =>
    execa("ovn-appctl", ["-t", join(c.ovs.dir, `ovn-controller.${c.controllerPid}.ctl`), ...args], {
      stdin: "ignore",
    });
  const logOf = (c) => readFile(join(c.ovs.dir, "ovn-controller.log"), "utf8");
  for (const c of ovn.chassis) await appctl(c, "vlog/set", "inc_proc_eng:file:dbg");
  // Engine events logged since `offsets`, as "<s after wall0> <event>".
  const engineEvents = async (offsets, wall0) => {
    const out = [];
    for (const [i, c] of ovn.chassis.entries()) {
      const lines = (await logOf(c))
        .slice(offsets[i])
        .split("\n")
        .filter((line) => {
          const took = /took (\d+)ms/.exec(line);
          return took !== null && (/recompute/.test(line) || Number(took[1]) >= 40);
        })
        .map((line) => {
          const at = ((Date.parse(line.slice(0, 24)) - wall0) / 1000).toFixed(2);
          return `${at} ${line.replace(/^.*\|(DBG|INFO)\|node: /, "")}`;
        });
      out.push(`  ${c.name}: ${lines.join("\n    ")}`);
    }
    return out.join("\n");
  };
  const offsets = async () => Promise.all(ovn.chassis.map(async (c) => (await logOf(c)).length));
  for (let run = 0; run < RUNS; run++) {
    await nb.deleteLogicalPorts(names, { ifExists: true });
    await nb.deleteLogicalSwitch(SWITCH, { ifExists: true });
    await nb.sync();
    await nb.addLogicalSwitch({ name: SWITCH });
    await nb.sync();
    const side = SIDES[run % SIDES.length];
    const logAt = await offsets();
    const wall0 = Date.now();
    const t0 = performance.now();
    const at = {};
    const mark = (phase) => {
      at[phase] ??= Number(((performance.now() - t0) / 1000).toFixed(2));
    };
    const onChange = () => {
      const c = counts();
      if (c.rows >= N) mark("sb_rows");
      if (c.claimed >= N) mark("claimed");
      if (c.sbUp >= N) mark("sb_up");
    };
    sbMonitor.on("change", onChange);
    const before = await cpu();
    if (side === "vmnet") await nb.addLogicalPorts(SWITCH, specs);
    else
      await execa("ovn-nbctl", [
        `--db=${ovn.nbRemote}`,
        ...specs.flatMap((s) => [
          "--",
          "lsp-add",
          SWITCH,
          s.name,
          "--",
          "lsp-set-addresses",
          s.name,
          s.addresses[0],
        ]),
      ]);
    mark("commit");
    await nb.waitPortsUp(names, { timeoutMs: 600_000 });
    mark("nb_up");
    sbMonitor.off("change", onChange);
    const after = await cpu();
    const spent = Object.fromEntries(
      Object.entries(after).map(([name, s]) => [name, Number((s - before[name]).toFixed(2))]),
    );
    console.log(`run ${run + 1} (${side}, load ${loadavg()[0].toFixed(2)}): at ${JSON.stringify(at)}`);
    console.log(`  cpu s ${JSON.stringify(spent)}`);
    console.log(await engineEvents(logAt, wall0));
    for (const k of TOUCH) {
      await nb.sync();
      const ports = (await nb.listLogicalPorts(SWITCH)).slice(0, k);
      const cpuBefore = await cpu();
      const touchAt = await offsets();
      const touch0 = Date.now();
      const t1 = performance.now();
      await nb.transact(
        ports.map((p) => ({
          op: "mutate",
          table: "Logical_Switch_Port",
          where: [["_uuid", "==", ["uuid", p.uuid]]],
          mutations: [["options", "insert", ["map", [["vmnet-touch", `${run}-${k}`]]]]],
        })),
      );
      await nb.sync();
      const cpuAfter = await cpu();
      const controllers = ovn.chassis.map((c) => {
        const key = `controller-${c.name.slice(-1)}`;
        return (cpuAfter[key] - cpuBefore[key]).toFixed(2);
      });
      console.log(
        `  touched ${k} bound ports: hv synced after ${((performance.now() - t1) / 1000).toFixed(2)} s, ovn-controllers spent ${controllers.join(", ")} s of CPU`,
      );
      console.log(await engineEvents(touchAt, touch0));
    }
  }
} finally {
  await ovn.stop();
}
