// The journal's file handling: atomic writes, a removal that is complete when it returns (the data
// freed later), and the sweep of what a crashed process left between the two.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test, vi } from "vitest";
import { Journal } from "../src/plan/journal.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "journal-test-"));
  dirs.push(d);
  return join(d, "state");
};

test("write, read back, overwrite, remove: read answers undefined at once and the data goes", async () => {
  const j = new Journal<{ n: number }>(fresh(), "4-4026532179");
  expect(await j.read()).toBeUndefined();
  await j.write({ n: 1 });
  expect(await j.read()).toEqual({ n: 1 });
  await j.write({ n: 2 });
  expect(await j.read()).toEqual({ n: 2 });
  await j.remove();
  expect(await j.read()).toBeUndefined();
  expect(existsSync(j.path)).toBe(false);
  // The renamed file is unlinked on libuv's pool: soon nothing is left but the directory.
  await vi.waitFor(() => expect(readdirSync(j.dir)).toEqual([]));
  await j.remove(); // idempotent
});

test("a journal that is not JSON is an error, not an absent one", async () => {
  const j = new Journal<unknown>(fresh(), "k");
  await j.write({});
  writeFileSync(j.path, "{half");
  await expect(j.read()).rejects.toBeInstanceOf(SyntaxError);
});

test("removed journals a crashed process left (.gone-*) are swept by the next writer; others are kept", async () => {
  const dir = fresh();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".gone-0123456789ab"), "{}");
  writeFileSync(join(dir, "other.json"), "{}");
  const j = new Journal<{ n: number }>(dir, "k");
  await j.write({ n: 1 });
  expect(readdirSync(dir).sort()).toEqual(["k.json", "other.json"]);
});

test("a key that is not a file name is refused", () => {
  expect(() => new Journal(fresh(), "../x")).toThrow(RangeError);
});
