// netem delay distributions: tables of signed 16-bit values (NETEM_DIST_SCALE = 8192 per standard
// deviation) that the kernel samples jitter from. iproute2 ships them as .dist text files
// (normal, pareto, paretonormal, experimental); they are read from where iproute2 installs them,
// parsed as tc parses them, and cached. A table may also be given directly.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import * as C from "./constants.js";
import { TcInputError } from "./errors.js";

/** "uniform" (the kernel's default, no table), a .dist name, or a table of values. */
export type Distribution = string | { table: readonly number[] };

export const distributionSchema = z.union([
  z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9_.-]+$/, "must be a distribution name such as normal, pareto or paretonormal"),
  z
    .object({
      table: z
        .array(z.number().int().min(-32768).max(32767), { error: "expected 16-bit integers" })
        .min(1, "must not be empty")
        .max(C.NETEM_DIST_MAX, `must have at most ${C.NETEM_DIST_MAX} values`),
    })
    .strict(),
]);

/** Where iproute2 keeps its tc files: $TC_LIB_DIR, then the usual lib directories. */
export function distributionDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.TC_LIB_DIR) dirs.push(process.env.TC_LIB_DIR);
  for (const lib of ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib"]) {
    dirs.push(join(lib, "tc"));
    try {
      // Debian's multiarch layout: /usr/lib/x86_64-linux-gnu/tc.
      for (const e of readdirSync(lib)) if (/-linux-gnu/.test(e)) dirs.push(join(lib, e, "tc"));
    } catch {}
  }
  return dirs;
}

/** Parses a .dist file as tc's get_distribution() does: '#' lines skipped, integers (strtol base 0). */
export function parseDistribution(text: string, name = "table"): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    for (const token of line.trim().split(/\s+/)) {
      if (token === "") continue;
      const m = /^([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)/i.exec(token);
      if (!m) break;
      const digits = m[2] as string;
      const magnitude = digits.toLowerCase().startsWith("0x")
        ? Number.parseInt(digits.slice(2), 16)
        : digits.length > 1 && digits.startsWith("0")
          ? Number.parseInt(digits, 8)
          : Number.parseInt(digits, 10);
      if (out.length >= C.NETEM_DIST_MAX) throw new Error(`${name}: too much data`);
      // tc stores the long into an __s16: keep the low 16 bits, signed.
      out.push(((m[1] === "-" ? -magnitude : magnitude) << 16) >> 16);
    }
  }
  return out;
}

const cache = new Map<string, Buffer>();

/** The table as TCA_NETEM_DELAY_DIST / SLOT_DIST carry it, or undefined for "uniform". */
export function loadDistribution(d: Distribution, field: string): Buffer | undefined {
  if (typeof d !== "string") return toBuffer(d.table);
  if (d === "uniform") return undefined;
  const hit = cache.get(d);
  if (hit) return hit;
  const dirs = distributionDirs();
  const file = dirs.map((dir) => join(dir, `${d}.dist`)).find((f) => existsSync(f));
  if (!file) {
    throw new TcInputError(
      field,
      `no distribution table "${d}" (looked for ${d}.dist in ${dirs.join(", ")}; install iproute2 or give { table: [...] })`,
    );
  }
  const table = parseDistribution(readFileSync(file, "utf8"), file);
  if (table.length === 0) throw new TcInputError(field, `${file} holds no values`);
  const buf = toBuffer(table);
  cache.set(d, buf);
  return buf;
}

function toBuffer(table: readonly number[]): Buffer {
  const b = Buffer.alloc(table.length * 2);
  table.forEach((v, i) => {
    b.writeInt16LE(v, i * 2);
  });
  return b;
}
