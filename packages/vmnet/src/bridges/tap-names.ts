// Tap names from a format such as "mega_tap%d": the lowest free numbers, free meaning neither a
// kernel link, nor an OVS port, nor a name another call of this process is creating right now.
import { VmnetInputError } from "../errors.js";

export function formatTapName(format: string, n: number): string {
  return format.replace("%d", String(n));
}

export function tapNumber(format: string, name: string): number | undefined {
  const [head, tail] = format.split("%d") as [string, string];
  if (!name.startsWith(head) || !name.endsWith(tail)) return undefined;
  const digits = name.slice(head.length, name.length - tail.length);
  return /^(0|[1-9]\d*)$/.test(digits) ? Number(digits) : undefined;
}

/** Picks `count` names not in `taken`, adding them to `taken`. */
export function allocateTapNames(format: string, count: number, taken: Set<string>): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count; n++) {
    const name = formatTapName(format, n);
    if (Buffer.byteLength(name) > 15) {
      throw new VmnetInputError(
        "tapFormat",
        `ran out of 15-byte names after ${format.replace("%d", String(n - 1))}`,
      );
    }
    if (taken.has(name)) continue;
    taken.add(name);
    out.push(name);
  }
  return out;
}
