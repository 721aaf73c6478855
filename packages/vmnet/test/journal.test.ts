// The journal's file handling: atomic writes, a removal that is complete when it returns (the data
// freed later), and the sweep of what a crashed process left between the two.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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

test("setLeadingFlag rewrites the record's first boolean in place; the file stays valid JSON", async () => {
  const j = new Journal<{ complete: boolean; n: number }>(fresh(), "flag");
  await j.write({ complete: false, n: 7 });
  const before = statSync(j.path);
  await j.setLeadingFlag("complete", true, { complete: true, n: 7 });
  // The same file (no rename), the same length ("true " holds the place of "false").
  expect(statSync(j.path).ino).toBe(before.ino);
  expect(statSync(j.path).size).toBe(before.size);
  expect(await j.read()).toEqual({ complete: true, n: 7 });
  await j.setLeadingFlag("complete", false, { complete: false, n: 7 });
  expect(await j.read()).toEqual({ complete: false, n: 7 });
  expect(readFileSync(j.path, "utf8")).toBe('{"complete":false,"n":7}\n');
});

test("setLeadingFlag writes the record whole when the file does not start with the flag, or is gone", async () => {
  const j = new Journal<{ n: number; complete: boolean }>(fresh(), "flag2");
  await j.write({ n: 1, complete: false });
  await j.setLeadingFlag("complete", true, { n: 1, complete: true });
  expect(await j.read()).toEqual({ n: 1, complete: true });
  await j.remove();
  await j.setLeadingFlag("complete", true, { n: 2, complete: true });
  expect(await j.read()).toEqual({ n: 2, complete: true });
  // A symlink in its place is not followed (O_NOFOLLOW): the write replaces the link instead.
  const target = join(j.dir, "target.json");
  writeFileSync(target, '{"complete":false}');
  rmSync(j.path);
  symlinkSync(target, j.path);
  await j.setLeadingFlag("complete", true, { n: 3, complete: true });
  expect(readFileSync(target, "utf8")).toBe('{"complete":false}');
  expect(lstatSync(j.path).isSymbolicLink()).toBe(false);
  expect(await j.read()).toEqual({ n: 3, complete: true });
});

test("a write after read() found nothing replaces a journal another writer made meanwhile", async () => {
  const dir = fresh();
  const a = new Journal<{ n: number }>(dir, "race");
  const b = new Journal<{ n: number }>(dir, "race");
  expect(await a.read()).toBeUndefined();
  await b.write({ n: 1 });
  await a.write({ n: 2 });
  expect(await b.read()).toEqual({ n: 2 });
  await vi.waitFor(() => expect(readdirSync(dir)).toEqual(["race.json"]));
});
