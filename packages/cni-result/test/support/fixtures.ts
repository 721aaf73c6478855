// Reads the recorded documents under test/fixtures (see fixtures/SOURCES.md).

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../fixtures/", import.meta.url));

export function fixtureText(path: string): string {
  return readFileSync(root + path, "utf8");
}

export function fixture(path: string): Record<string, unknown> {
  return JSON.parse(fixtureText(path)) as Record<string, unknown>;
}

export function fixtureNames(dir: string): string[] {
  return readdirSync(root + dir).filter((name) => name.endsWith(".json"));
}
