// Release checks, run by `pnpm test` after the workspace suite (node's test runner):
// every public package is packed (`pnpm pack`), checked with publint and arethetypeswrong,
// installed ALONE from its tarball into a fresh project with plain npm (no workspace), and its
// README example is run from there, so docs cannot rot and a layer cannot quietly depend on a
// layer it should not (a pure package that loads the addon fails). The addon's prebuilt binaries
// are checked for both architectures and for the glibc/libstdc++ versions they need (no newer than
// Debian 11 / Ubuntu 20.04 have, read from the ELF files by elf-versions.mjs), the
// build-from-source fallback is exercised (no prebuild; a prebuild that cannot load), and a
// dry-run release (changeset version + publish --dry-run) and API docs (typedoc) are made.
// Needs the npm registry (installs run outside the test namespaces; the examples run inside
// vmnet-isolate).
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { neededVersions, newerThan, newestNeeded, withNeededVersion } from "./elf-versions.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const isolate = join(root, "tools", "harness", "bin", "vmnet-isolate.mjs");
const work = mkdtempSync(join(tmpdir(), "vmnet-release-"));
const tarballs = join(work, "tarballs");

const all = readdirSync(join(root, "packages"))
  .map((dir) => ({
    dir: join(root, "packages", dir),
    pkg: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")),
  }))
  .filter((p) => !p.pkg.private);
const byName = new Map(all.map((p) => [p.pkg.name, p]));
const tarballOf = new Map();

function run(file, args, options = {}) {
  const r = spawnSync(file, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.error) throw r.error;
  return r;
}

/** Like run, without blocking the event loop (for work done side by side). */
function runAsync(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ status: error ? error.code : 0, stdout, stderr });
    });
  });
}

function ok(file, args, options = {}) {
  const r = run(file, args, options);
  assert.equal(r.status, 0, `${file} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Workspace packages a package needs at run time, transitively (they stand in for the registry). */
function workspaceDeps(name, seen = new Set()) {
  for (const dep of Object.keys(byName.get(name)?.pkg.dependencies ?? {})) {
    if (byName.has(dep) && !seen.has(dep)) {
      seen.add(dep);
      workspaceDeps(dep, seen);
    }
  }
  return seen;
}

/** The first ```js block of a README. */
function readmeExample(dir) {
  const m = /```(?:js|javascript|mjs)\n([\s\S]*?)```/.exec(readFileSync(join(dir, "README.md"), "utf8"));
  assert.ok(m, `${dir}/README.md has no js example`);
  return m[1];
}

function freshProject(name) {
  const dir = mkdtempSync(join(work, `${name.replace(/[@/]/g, "_")}-`));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }),
  );
  return dir;
}

function npmInstall(dir, tgzs, flags = []) {
  ok("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...flags, ...tgzs], { cwd: dir });
}

/**
 * The oldest systems Node 20 supports whose prebuilds must load: Debian 11 (bullseye) and
 * Ubuntu 20.04 ship glibc 2.31 and GCC 10's libstdc++ (GLIBCXX_3.4.28, CXXABI_1.3.12). A
 * prebuild that needs anything newer fails to load there ("version `GLIBC_2.34' not found").
 */
const DEBIAN_11 = { GLIBC: "2.31", GLIBCXX: "3.4.28", CXXABI: "1.3.12" };
/** RHEL 8: glibc 2.28, GCC 8's libstdc++. Reported, not required: it relies on the source build. */
const RHEL_8 = { GLIBC: "2.28", GLIBCXX: "3.4.25", CXXABI: "1.3.11" };

function runExample(dir, code, extraNodeArgs = []) {
  writeFileSync(join(dir, "example.mjs"), code);
  return run(process.execPath, [isolate, process.execPath, ...extraNodeArgs, "example.mjs"], {
    cwd: dir,
    env: { ...process.env, VMNET_ISOLATED: "" },
  });
}

before(() => {
  mkdirSync(tarballs, { recursive: true });
  if (byName.has("@vmnet/netlink-native")) ok("bash", [join(root, "scripts", "release", "prebuild.sh")]);
  for (const { dir, pkg } of all) {
    const out = ok("pnpm", ["pack", "--pack-destination", tarballs], { cwd: dir });
    const tgz = out
      .trim()
      .split("\n")
      .filter((l) => l.endsWith(".tgz"))
      .pop();
    assert.ok(tgz, `pnpm pack printed no tarball for ${pkg.name}`);
    tarballOf.set(pkg.name, tgz.startsWith("/") ? tgz : join(tarballs, tgz));
  }
});

after(() => rmSync(work, { recursive: true, force: true }));

for (const { dir, pkg } of all) {
  describe(pkg.name, () => {
    test("publint: no packaging errors", () => {
      const out = ok(join(root, "node_modules", ".bin", "publint"), ["--strict", dir]);
      assert.doesNotMatch(out, /error|warning/i, out);
    });

    test("arethetypeswrong: types resolve for ESM consumers", () => {
      ok(join(root, "node_modules", ".bin", "attw"), [
        tarballOf.get(pkg.name),
        "--profile",
        "esm-only",
        "--format",
        "ascii",
      ]);
    });

    test("has what a published package needs", () => {
      for (const key of ["exports", "types", "engines", "files", "license"])
        assert.ok(pkg[key], `package.json lacks ${key}`);
      assert.deepEqual(pkg.os, ["linux"]);
      assert.ok(existsSync(join(dir, "README.md")));
    });

    test("installs alone from its tarball and runs its README example", () => {
      const deps = [...workspaceDeps(pkg.name)];
      const project = freshProject(pkg.name);
      npmInstall(project, [...deps.map((d) => tarballOf.get(d)), tarballOf.get(pkg.name)]);
      const installed = readdirSync(join(project, "node_modules", "@vmnet"));
      assert.deepEqual(
        installed.sort(),
        [pkg.name, ...deps].map((n) => n.split("/")[1]).sort(),
        "pulled in another layer",
      );
      const pure = !deps.includes("@vmnet/netlink-native") && pkg.name !== "@vmnet/netlink-native";
      // A pure layer must never load a native addon: make dlopen fail for the whole run.
      const guard = join(project, "no-addon.mjs");
      writeFileSync(guard, 'process.dlopen = (m, f) => { throw new Error("native addon loaded: " + f); };\n');
      const r = runExample(project, readmeExample(dir), pure ? ["--import", "./no-addon.mjs"] : []);
      assert.equal(r.status, 0, `README example failed (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
    });
  });
}

describe("@vmnet/netlink-native prebuilt binaries", {
  skip: !byName.has("@vmnet/netlink-native") && "no public netlink-native",
}, () => {
  const unpack = () => {
    const dir = mkdtempSync(join(work, "unpacked-"));
    ok("tar", ["-xzf", tarballOf.get("@vmnet/netlink-native"), "-C", dir]);
    return join(dir, "package");
  };

  test("the tarball ships linux-x64 and linux-arm64 builds of the right architecture and N-API version", () => {
    const pkgDir = unpack();
    const probe = join(root, "scripts", "release", "probe-addon.c");
    for (const [arch, elf, cc, nm, runner] of [
      ["x64", "x86-64", "gcc", "nm", []],
      [
        "arm64",
        "ARM aarch64",
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-nm",
        ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"],
      ],
    ]) {
      const bin = join(pkgDir, "prebuilds", `linux-${arch}`, "@vmnet+netlink-native.node");
      assert.ok(existsSync(bin), `missing ${bin}`);
      assert.match(ok("file", ["-b", bin]), new RegExp(`ELF 64-bit LSB shared object, ${elf}`));
      // The addon imports N-API functions from node. The probe stands in for node: it exports a
      // do-nothing definition of each (never called) so the loader can bind them.
      const imports = ok(nm, ["-D", "--undefined-only", bin])
        .split("\n")
        .map((l) => l.trim().split(/\s+/).pop() ?? "")
        .filter((sym) => /^(napi|node_api|uv)_\w+$/.test(sym));
      const stubs = join(work, `stubs-${arch}.c`);
      writeFileSync(stubs, imports.map((sym) => `void ${sym}(void) {}\n`).join(""));
      const exe = join(work, `probe-${arch}`);
      ok(cc, ["-rdynamic", "-o", exe, probe, stubs, "-ldl"]);
      const out = runner.length ? ok(runner[0], [...runner.slice(1), exe, bin]) : ok(exe, [bin]);
      assert.deepEqual(JSON.parse(out), { napiVersion: 8, registers: true });
    }
  });

  test("prebuilt binaries need no newer glibc/libstdc++ than Debian 11 and Ubuntu 20.04 have", () => {
    const pkgDir = unpack();
    const problems = [];
    for (const arch of ["x64", "arm64"]) {
      const bin = join(pkgDir, "prebuilds", `linux-${arch}`, "@vmnet+netlink-native.node");
      const needed = neededVersions(readFileSync(bin));
      // The reader found what every addon needs: libc, and node's C++ runtime.
      assert.ok(newestNeeded(needed, "GLIBC"), `linux-${arch}: no GLIBC version found`);
      const rhel8 = newerThan(needed, RHEL_8).length === 0 ? "loads" : "needs the source build";
      console.log(
        `linux-${arch}: needs GLIBC ${newestNeeded(needed, "GLIBC")}, GLIBCXX ${newestNeeded(needed, "GLIBCXX") ?? "-"}, CXXABI ${newestNeeded(needed, "CXXABI") ?? "-"}; on RHEL 8 it ${rhel8}`,
      );
      for (const problem of newerThan(needed, DEBIAN_11)) problems.push(`linux-${arch}: ${problem}`);
    }
    assert.deepEqual(
      problems,
      [],
      `prebuilds need more than Debian 11 / Ubuntu 20.04 have (${JSON.stringify(DEBIAN_11)}):\n${problems.join("\n")}`,
    );
  });

  test("a prebuild that cannot load (built against a newer glibc) falls back to a source build", () => {
    // Make the linux-x64 prebuild need a glibc from the future, exactly as a prebuild built on a
    // newer system looks to an older one, and check the dynamic linker refuses it.
    const pkgDir = unpack();
    const bin = join(pkgDir, "prebuilds", "linux-x64", "@vmnet+netlink-native.node");
    const elf = readFileSync(bin);
    const base = neededVersions(elf).find((n) => n.file === "libc.so.6" && n.version.startsWith("GLIBC_"));
    assert.ok(base, "the prebuild needs nothing from libc");
    const future = base.version.replace(/\d/g, "9");
    const notFound = new RegExp(`version .${future.replaceAll(".", "\\.")}' not found`);
    writeFileSync(bin, withNeededVersion(elf, base.version, future));
    const refused = run(process.execPath, ["-e", `process.dlopen({ exports: {} }, ${JSON.stringify(bin)})`]);
    assert.match(refused.stderr, notFound);
    const tgz = join(work, "netlink-native-unloadable.tgz");
    ok("tar", ["-czf", tgz, "-C", dirname(pkgDir), "package"]);

    // Installed without install scripts (pnpm 10's default for dependencies, npm --ignore-scripts)
    // nothing was built: loading must either build from source itself or fail saying why (the
    // loader's error) and how to build from source, never with the bare dlopen error alone.
    const project = freshProject("unloadable");
    npmInstall(project, [tgz], ["--ignore-scripts"]);
    const installed = join(project, "node_modules", "@vmnet", "netlink-native");
    const sourceBuild = join(installed, "build", "Release", "vmnet_netlink.node");
    const example = readmeExample(byName.get("@vmnet/netlink-native").dir);
    const first = runExample(project, example);
    if (first.status === 0) {
      assert.ok(existsSync(sourceBuild), "the example ran on a prebuild that cannot load");
    } else {
      assert.match(first.stderr, notFound, "the error does not say why the prebuild cannot load");
      assert.match(
        first.stderr,
        /npm rebuild|build-from-source|node-gyp rebuild/i,
        `the error does not say how to build from source:\n${first.stderr}`,
      );
    }

    // The install script (what `npm install` runs, and `npm rebuild` runs again) tries the
    // prebuild, sees it cannot load, builds from source; the package then works.
    ok("npm", ["rebuild", "@vmnet/netlink-native", "--loglevel=error"], { cwd: project });
    assert.ok(existsSync(sourceBuild), "no source build after the prebuild failed to load");
    const r = runExample(project, example);
    assert.equal(r.status, 0, `example failed after the source build:\n${r.stderr}`);
  });

  test("installing uses the prebuilt binary: nothing is compiled", () => {
    const project = freshProject("prebuilt");
    npmInstall(project, [tarballOf.get("@vmnet/netlink-native")]);
    const installed = join(project, "node_modules", "@vmnet", "netlink-native");
    assert.equal(existsSync(join(installed, "build")), false, "node-gyp ran although a prebuild exists");
    const r = runExample(project, readmeExample(byName.get("@vmnet/netlink-native").dir));
    assert.equal(r.status, 0, r.stderr);
  });

  test("without a prebuild for the platform, it builds from source and works", () => {
    const pkgDir = unpack();
    rmSync(join(pkgDir, "prebuilds"), { recursive: true, force: true });
    const tgz = join(work, "netlink-native-source.tgz");
    ok("tar", ["-czf", tgz, "-C", dirname(pkgDir), "package"]);
    const project = freshProject("source");
    npmInstall(project, [tgz]);
    assert.ok(
      existsSync(
        join(project, "node_modules", "@vmnet", "netlink-native", "build", "Release", "vmnet_netlink.node"),
      ),
    );
    const r = runExample(project, readmeExample(byName.get("@vmnet/netlink-native").dir));
    assert.equal(r.status, 0, r.stderr);
  });
});

describe("release", () => {
  test("changeset version, then a dry-run publish prints every public package and its new version", () => {
    const copy = join(work, "repo");
    ok("git", ["clone", "-q", root, copy]);
    ok(
      "pnpm",
      ["install", "--prefer-offline", "--frozen-lockfile", "--ignore-scripts", "--reporter=append-only"],
      {
        cwd: copy,
      },
    );
    ok("pnpm", ["changeset", "version"], { cwd: copy });
    const r = run("pnpm", ["publish", "-r", "--dry-run", "--no-git-checks", "--ignore-scripts"], {
      cwd: copy,
    });
    assert.equal(r.status, 0, r.stderr);
    const printed = `${r.stdout}\n${r.stderr}`;
    for (const { pkg } of all) {
      const bumped = JSON.parse(
        readFileSync(join(copy, "packages", pkg.name.split("/")[1], "package.json"), "utf8"),
      ).version;
      assert.notEqual(bumped, pkg.version, `${pkg.name} has no pending changeset`);
      assert.match(printed, new RegExp(`${pkg.name.replace("/", "\\/")}@${bumped.replaceAll(".", "\\.")}`));
      console.log(`would publish ${pkg.name}@${bumped}`);
    }
  });

  test("API reference is generated from the types of every public package", async () => {
    // Two typedoc runs at a time: each spends most of its time in one TypeScript program.
    const queue = [...all];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { dir, pkg } = next;
        const out = join(work, "docs", pkg.name.split("/")[1]);
        const args = [
          "--entryPoints",
          join(dir, "src", "index.ts"),
          "--tsconfig",
          join(dir, "tsconfig.build.json"),
        ];
        args.push("--out", out, "--logLevel", "Error", "--skipErrorChecking");
        const r = await runAsync(join(root, "node_modules", ".bin", "typedoc"), args);
        assert.equal(r.status, 0, `typedoc for ${pkg.name} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
        assert.ok(existsSync(join(out, "index.html")), `${pkg.name}: no docs`);
      }
    };
    await Promise.all([worker(), worker()]);
  });
});
