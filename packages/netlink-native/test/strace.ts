// strace attached to the test process: which thread made which system call, for tests that pin
// down where the kernel's work runs.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireProgram } from "@vmnet/harness";

/** Traces this process's `calls` (every thread) while `work` runs; returns strace's lines. */
export async function traceCalls(work: () => Promise<void>, calls = "recvfrom"): Promise<string[]> {
  const strace = requireProgram("strace", "strace");
  const dir = mkdtempSync(join(tmpdir(), "vmnet-strace-"));
  const out = join(dir, "trace");
  const child = spawn(
    strace,
    ["-f", "-p", String(process.pid), "-e", `trace=${calls}`, "-e", "signal=none", "-o", out],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let said = "";
  child.stderr.on("data", (d: Buffer) => {
    said += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  try {
    // strace says "Process N attached" for each thread once it traces it.
    const deadline = performance.now() + 10_000;
    while (!/attached/.test(said)) {
      if (performance.now() > deadline) throw new Error(`strace did not attach: ${said}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100)); // every thread's attach line is out
    await work();
  } finally {
    child.kill("SIGINT");
    await exited;
  }
  const lines = readFileSync(out, "utf8").split("\n");
  rmSync(dir, { recursive: true, force: true });
  return lines;
}
