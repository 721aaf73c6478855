// The ELF reader the prebuild checks rely on (elf-versions.mjs), checked against binutils'
// readelf on real libraries of both architectures, and the "needs a newer glibc" simulation
// checked against the real dynamic linker.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { elfHash, neededVersions, newerThan, newestNeeded, withNeededVersion } from "./elf-versions.mjs";

const work = mkdtempSync(join(tmpdir(), "vmnet-elf-"));
after(() => rmSync(work, { recursive: true, force: true }));

function ok(file, args) {
  const r = spawnSync(file, args, { encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${file} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** `readelf -V`'s "Version needs" as "file version" lines. */
function readelfNeeds(path) {
  const out = ok("readelf", ["-V", "--wide", path]);
  const section = out.slice(out.indexOf("Version needs section"));
  const lines = [];
  let file = "";
  for (const line of section.split("\n")) {
    const f = /File: (\S+)/.exec(line);
    if (f) file = f[1];
    const n = /Name: (\S+)/.exec(line);
    if (n) lines.push(`${file} ${n[1]}`);
  }
  return lines.sort();
}

const libraries = [
  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
  // Installed with g++-aarch64-linux-gnu, which the prebuilds need anyway.
  "/usr/aarch64-linux-gnu/lib/libstdc++.so.6",
];

for (const lib of libraries) {
  test(`the versions needed by ${lib} are the ones readelf lists, with the right hashes`, () => {
    const elf = readFileSync(lib);
    const needed = neededVersions(elf);
    assert.ok(needed.length > 5, "too few versions found");
    assert.deepEqual(needed.map((n) => `${n.file} ${n.version}`).sort(), readelfNeeds(lib));
    for (const n of needed) assert.equal(elf.readUInt32LE(n.hashAt), elfHash(n.version), n.version);
    // Every version is needed by at least one undefined symbol.
    for (const n of needed) assert.ok(n.symbols.length > 0, `${n.version} has no symbol`);
  });
}

test("versions are judged against a floor family by family, as dotted numbers", () => {
  const needed = neededVersions(readFileSync(libraries[0]));
  const newest = newestNeeded(needed, "GLIBC");
  assert.match(newest ?? "", /^2\.\d+$/);
  assert.deepEqual(newerThan(needed, { GLIBC: newest }), []);
  assert.deepEqual(newerThan(needed, { GLIBC: "2.2" }).length > 0, true);
  // "2.4" is older than "2.34": numbers, not text.
  const fake = [{ file: "libc.so.6", version: "GLIBC_2.34", symbols: ["dlopen"], nameAt: 0, hashAt: 0 }];
  assert.deepEqual(newerThan(fake, { GLIBC: "2.4" }), ["GLIBC_2.34 (dlopen) from libc.so.6"]);
  assert.deepEqual(newerThan(fake, { GLIBC: "2.34" }), []);
  assert.deepEqual(newerThan(fake, { GLIBCXX: "3.4" }), []);
});

test("a library made to need a future glibc fails to load the way it does on an older system", () => {
  const source = join(work, "lib.c");
  writeFileSync(source, "#include <string.h>\nconst char *f(int e) { return strerror(e); }\n");
  const lib = join(work, "lib.so");
  ok("gcc", ["-shared", "-fPIC", "-o", lib, source]);
  const load = (path) =>
    spawnSync(process.execPath, ["-e", `process.dlopen({ exports: {} }, ${JSON.stringify(path)})`], {
      encoding: "utf8",
    }).stderr;
  // It loads (it is just not an addon).
  assert.match(load(lib), /did not self-register/);
  const base = neededVersions(readFileSync(lib)).find((n) => n.file === "libc.so.6");
  assert.ok(base, "the library needs nothing from libc");
  const future = base.version.replace(/\d/g, "9");
  const patched = join(work, "future.so");
  writeFileSync(patched, withNeededVersion(readFileSync(lib), base.version, future));
  assert.deepEqual(
    neededVersions(readFileSync(patched)).map((n) => n.version),
    [future],
  );
  assert.match(load(patched), new RegExp(`version .${future.replaceAll(".", "\\.")}' not found`));
});
