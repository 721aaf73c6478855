// The page's files: our own from serve-assets/ (shipped in the package), the libraries' browser
// builds from their packages in node_modules, resolved at run time. Nothing is fetched from a CDN
// and nothing needs a build step. A fixed table: a request never names a path.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ours = (name: string) => fileURLToPath(new URL(`../../serve-assets/${name}`, import.meta.url));

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

const TABLE: Record<string, { file: () => string; type: string }> = {
  "/": { file: () => ours("index.html"), type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: () => ours("app.js"), type: JS },
  "/assets/graph.js": { file: () => ours("graph.js"), type: JS },
  "/assets/plots.js": { file: () => ours("plots.js"), type: JS },
  "/assets/style.css": { file: () => ours("style.css"), type: CSS },
  "/vendor/cytoscape.min.js": { file: () => require.resolve("cytoscape/dist/cytoscape.min.js"), type: JS },
  "/vendor/uPlot.iife.min.js": { file: () => require.resolve("uplot/dist/uPlot.iife.min.js"), type: JS },
  "/vendor/uPlot.min.css": { file: () => require.resolve("uplot/dist/uPlot.min.css"), type: CSS },
};

export const ASSET_PATHS: readonly string[] = Object.keys(TABLE);

const cache = new Map<string, Buffer>();

export async function asset(path: string): Promise<{ body: Buffer; type: string } | undefined> {
  const entry = TABLE[path];
  if (!entry) return undefined;
  let body = cache.get(path);
  if (!body) {
    body = await readFile(entry.file());
    cache.set(path, body);
  }
  return { body, type: entry.type };
}
