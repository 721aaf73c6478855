// The rows of bench/results/ovn.json, built from the samples bench/ovn.mjs records in
// ovn-context.json: medians (the mean of the middle two for an even count), every side's min, max
// and run count, and the ratio of the medians. bench/ovn.mjs calls ovnRows() after its runs;
// `node bench/ovn-rows.mjs [dir]` rebuilds dir/ovn.json (default bench/results) from
// dir/ovn-context.json alone, so the statistics can be re-derived from the raw samples.
import { readFile, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** `context`: { samples, ports, per_port, chassis } as in ovn-context.json. */
export function ovnRows(context) {
  const { samples, ports: N, per_port: PER_PORT_N, chassis: CHASSIS } = context;
  const m = (key) => median(samples[key]);
  const spread = (prefix, key, scale = 1) => ({
    [`${prefix}_min_s`]: Math.min(...samples[key]) * scale,
    [`${prefix}_max_s`]: Math.max(...samples[key]) * scale,
    [`${prefix}_runs`]: samples[key].length,
  });
  const scaled = PER_PORT_N < N;
  return [
    {
      workload: `${N} logical ports created and bound on ${CHASSIS} chassis, until all up`,
      subject: "vmnet",
      peer: "ovn-nbctl chained",
      subject_s: m(`vmnet:${N}`),
      peer_s: m(`chained:${N}`),
      ...spread("subject", `vmnet:${N}`),
      ...spread("peer", `chained:${N}`),
    },
    {
      workload: scaled
        ? `${N} logical ports created and bound on ${CHASSIS} chassis, until all up (ovn-nbctl per port measured on ${PER_PORT_N} ports and scaled to ${N}: a lower bound)`
        : `${N} logical ports created and bound on ${CHASSIS} chassis, until all up (ovn-nbctl per port measured on all ${N})`,
      subject: "vmnet",
      peer: "ovn-nbctl per port",
      subject_s: m(`vmnet:${N}`),
      peer_s: (m(`perport:${PER_PORT_N}`) * N) / PER_PORT_N,
      ...spread("subject", `vmnet:${N}`),
      ...spread("peer", `perport:${PER_PORT_N}`, N / PER_PORT_N),
    },
    ...(scaled
      ? [
          {
            workload: `${PER_PORT_N} logical ports created and bound on ${CHASSIS} chassis, until all up (both sides on the same ${PER_PORT_N} ports)`,
            subject: "vmnet",
            peer: "ovn-nbctl per port",
            subject_s: m(`vmnet:${PER_PORT_N}`),
            peer_s: m(`perport:${PER_PORT_N}`),
            ...spread("subject", `vmnet:${PER_PORT_N}`),
            ...spread("peer", `perport:${PER_PORT_N}`),
          },
        ]
      : []),
  ].map((row) => ({ ...row, ratio: Number((row.peer_s / row.subject_s).toFixed(2)) }));
}

export function describeRow(row) {
  return `${row.workload}: vmnet ${row.subject_s.toFixed(3)} s (${row.subject_min_s.toFixed(2)}-${row.subject_max_s.toFixed(2)}, ${row.subject_runs} runs), ${row.peer} ${row.peer_s.toFixed(3)} s (${row.peer_min_s.toFixed(2)}-${row.peer_max_s.toFixed(2)}, ${row.peer_runs} runs), ${row.ratio}x`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dir = process.argv[2] ?? new URL("./results", import.meta.url).pathname;
  const rows = ovnRows(JSON.parse(await readFile(`${dir}/ovn-context.json`, "utf8")));
  for (const row of rows) console.log(describeRow(row));
  await writeFile(`${dir}/ovn.json`, `${JSON.stringify(rows, null, 2)}\n`);
}
