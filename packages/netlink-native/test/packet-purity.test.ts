// The packet layer is pure by folder and import: from src/packet/index.ts, following every
// runtime import (type-only imports are erased), nothing with I/O is reachable (no addon, no
// socket, no netns, no fs).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^"';]*?from\s+"([^"]+)"/gms)) {
    if (m[1]) continue; // import type / export type: erased
    out.push(m[2] as string);
  }
  return out;
}

test("nothing with I/O is reachable from the packet subpath", async () => {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else external.add(spec);
    }
  };
  visit(resolve(src, "packet/index.ts"));
  const files = [...seen].map((f) => f.slice(src.length + 1)).sort();
  for (const f of files) expect(f, f).toMatch(/^(packet\/|codec\/|validate\.ts$|errors\.ts$)/);
  expect(files).not.toContain("native.ts");
  // Only pure modules from outside: zod, and node's own address/errno helpers.
  expect([...external].sort()).toEqual(["node:net", "node:os", "zod"]);
  // And it loads and works without the addon.
  const packet = await import("../src/packet/index.js");
  expect(packet.requests.linkDelete(3).type).toBe(17);
  expect(packet.LINK_KINDS).toContain("geneve");
});
