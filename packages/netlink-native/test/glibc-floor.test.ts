// The addon must load on the oldest glibc/libstdc++ that Node 20 supports (RHEL 8: glibc 2.28,
// GCC 8's libstdc++: GLIBCXX_3.4.25, CXXABI_1.3.11), so prebuilds made on a newer system do not
// fail with "version `GLIBC_2.34' not found" (see native/glibc_compat.h).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { which } from "@vmnet/harness";
import { expect, test } from "vitest";

const FLOOR: Record<string, number[]> = { GLIBC: [2, 28], GLIBCXX: [3, 4, 25], CXXABI: [1, 3, 11] };
const release = join(dirname(fileURLToPath(import.meta.url)), "../build/Release");

function newer(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}

const objdump = which("objdump");
const built = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith(".node")) : [];
if (!objdump) console.log("glibc floor: skipped, objdump (binutils) is not installed");
if (built.length === 0) console.log("glibc floor: skipped, no build/Release/*.node (run pnpm build)");

test.skipIf(!objdump || built.length === 0)(
  "the built addon needs no glibc/libstdc++ newer than RHEL 8's",
  () => {
    for (const file of built) {
      const out = execFileSync("objdump", ["-T", join(release, file)], { encoding: "utf8" });
      const needed = new Set(
        [...out.matchAll(/\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)/g)].map((m) => `${m[1]}_${m[2]}`),
      );
      expect(needed.size).toBeGreaterThan(0);
      const tooNew = [...needed].filter((v) => {
        const [family, version] = v.split("_") as [string, string];
        return newer(version.split(".").map(Number), FLOOR[family] as number[]);
      });
      expect(tooNew, file).toEqual([]);
    }
  },
);
