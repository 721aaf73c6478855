#!/usr/bin/env node
// `pnpm test:kernel`: boots Debian's full kernel under qemu with this machine's root shared
// read-only (9p, under a tmpfs overlay), and runs tools/vm-lane/kernel/*.test.ts there with the
// same node and the same built tree. The tests cover what the host kernel lacks (netem, 802.1Q,
// gretap). Exit code: the guest's vitest exit code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepare } from "../src/assets.mjs";
import { bootGuest } from "../src/guest.mjs";

const laneDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
prepare({ log: (s) => console.error(`vm-lane: ${s}`) });
const work = mkdtempSync(join(tmpdir(), "vmnet-lane-"));
const script = join(work, "run.sh");
const vitest = join(laneDir, "node_modules", ".bin", "vitest");
writeFileSync(
  script,
  [
    "set -e",
    `cd ${laneDir}`,
    "mount -t tmpfs tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns; }",
    "ip link set lo up",
    `export VMNET_LANE_REPORT=/vmnet-out/report.json CI=1`,
    `${vitest} run --config kernel.vitest.config.mjs ${process.argv.slice(2).join(" ")}`,
    "",
  ].join("\n"),
);
const started = Date.now();
const result = await bootGuest({
  mode: "lane",
  run: script,
  outDir: work,
  memoryMb: 3072,
  timeoutMs: Number(process.env.VMNET_VM_TIMEOUT_MS ?? 1_800_000),
  onLine: (line) => {
    if (!/^\[\s*\d+\.\d+\]/.test(line)) console.log(line);
  },
});
const seconds = ((Date.now() - started) / 1000).toFixed(1);
try {
  const report = JSON.parse(readFileSync(join(work, "report.json"), "utf8"));
  console.log(
    `kernel lane: ${report.numPassedTests} passed, ${report.numFailedTests} failed (${seconds} s with boot)`,
  );
} catch {
  console.log(`kernel lane: no report from the guest (exit ${result.exitCode}, ${seconds} s)`);
}
rmSync(work, { recursive: true, force: true });
process.exit(result.exitCode === 0 ? 0 : 1);
