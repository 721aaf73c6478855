// pnpm bench: runs every bench/*.bench.mjs in turn (each self-contained, writing its own
// bench/results/<name>.json). Runs inside vmnet-isolate; peers are installed before (see the
// package's bench script). BENCH_ONLY=<substring> runs only the matching files.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY;
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.mjs") && (!only || f.includes(only)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, [join(here, file)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
