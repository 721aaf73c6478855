// How the CLI talks: human tables by default, JSON with --json, a progress bar on bulk work when
// stdout is a terminal, one-line errors. Tables come from cli-table3, bars from cli-progress.
import { SingleBar } from "cli-progress";
import Table from "cli-table3";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  json: boolean;
  quiet: boolean;
  tty: boolean;
}

export function table(io: Io, head: string[], rows: (string | number | undefined)[][]): void {
  if (rows.length === 0) {
    io.out("(none)");
    return;
  }
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => (c === undefined ? "-" : String(c))));
  io.out(t.toString());
}

/** Prints `data` as JSON with --json, otherwise calls `human`. */
export function emit(io: Io, data: unknown, human: () => void): void {
  if (io.json) io.out(JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2));
  else if (!io.quiet) human();
}

/** A progress callback: a bar on a terminal (never with --json), nothing otherwise. */
export function progress(
  io: Io,
  label: string,
): { onProgress?: (done: number, total: number) => void; stop(): void } {
  if (!io.tty || io.json || io.quiet) return { stop() {} };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, hideCursor: true });
  let started = false;
  return {
    onProgress(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
