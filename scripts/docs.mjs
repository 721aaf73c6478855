// pnpm docs: API reference for every package, generated from its types (typedoc), into
// packages/<pkg>/docs/api (not committed).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
let failed = 0;
for (const dir of readdirSync(join(root, "packages"))) {
  const pkgDir = join(root, "packages", dir);
  if (!existsSync(join(pkgDir, "src", "index.ts"))) continue;
  const { name } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const r = spawnSync(
    join(root, "node_modules", ".bin", "typedoc"),
    [
      "--entryPoints",
      "src/index.ts",
      "--tsconfig",
      "tsconfig.build.json",
      "--out",
      "docs/api",
      "--name",
      name,
      "--logLevel",
      "Warn",
    ],
    { cwd: pkgDir, stdio: "inherit" },
  );
  if (r.status !== 0) failed++;
  else console.log(`${name}: packages/${dir}/docs/api/index.html`);
}
process.exit(failed ? 1 : 0);
