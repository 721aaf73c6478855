// The schema-free reading of current results (src/plain-result.ts) must give exactly what the
// schema gives: for every document it takes, the same copy (fields, order, dropped keys); and it
// must never take a document the schema refuses. What it declines goes to the schema as before.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseResult } from "../src/index.js";
import { plainResultV1 } from "../src/plain-result.js";
import { resultV1Schema } from "../src/schemas/v100.js";
import { resultV1 } from "./support/arbitraries.js";
import { fixture, fixtureNames } from "./support/fixtures.js";

type Doc = Record<string, unknown>;

/** The schema's reading: its copy as JSON text (order included), or "refused". */
function bySchema(doc: Doc): string {
  const r = resultV1Schema.safeParse(doc);
  return r.success ? JSON.stringify(r.data) : "refused";
}

function byShortcut(doc: Doc): string | undefined {
  const v = plainResultV1(doc, doc.cniVersion as "1.0.0" | "1.1.0");
  return v === undefined ? undefined : JSON.stringify(v);
}

/** Every place in a document a value can be put: each key of each object, each array index. */
function places(doc: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  if (typeof doc === "object" && doc !== null) {
    for (const k of Object.keys(doc)) {
      const path = [...at, Array.isArray(doc) ? Number(k) : k];
      out.push(path);
      places((doc as Doc)[k], path, out);
    }
  }
  return out;
}

function put(doc: Doc, path: (string | number)[], value: unknown): Doc {
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
  return copy;
}

// Values around every edge the schema draws: addresses of the other family, prefixes out of
// range, zones, leading zeros, negative, fractional and unsafe numbers, wrong types, undefined.
const edge = fc.constantFrom<unknown>(
  undefined,
  null,
  "",
  "10.1.0.1",
  "10.1.0.1/24",
  "10.1.0.1/33",
  "010.1.0.1",
  "fd00::1",
  "fd00::1/64",
  "fe80::1%eth0",
  "02:00:00:00:00:01",
  "02:00:00:00:00",
  "eth0",
  -1,
  0,
  1,
  1.5,
  3,
  255,
  256,
  0x7fffffff,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  Number.NaN,
  true,
  [],
  {},
  ["10.1.0.1"],
  [{ name: "x" }],
);

describe("plainResultV1", () => {
  test("takes every generated valid result, with the schema's copy (fields and their order)", () => {
    fc.assert(
      fc.property(resultV1, (result) => {
        // With keys the spec does not define at each level, which both drop.
        const doc = JSON.parse(JSON.stringify(result)) as Doc;
        doc.extra = { x: 1 };
        for (const i of (doc.interfaces as Doc[] | undefined) ?? []) i.vendor = "x";
        const fast = byShortcut(doc);
        expect(fast).toBeDefined();
        expect(fast).toBe(bySchema(doc));
      }),
      { numRuns: 1000 },
    );
  });

  test("a result with one value changed: taken only where the schema accepts it, and then alike", () => {
    let taken = 0;
    let declined = 0;
    fc.assert(
      fc.property(resultV1, fc.nat(), edge, (result, pick, value) => {
        const doc = JSON.parse(JSON.stringify(result)) as Doc;
        const all = places(doc).filter((p) => p[0] !== "cniVersion");
        if (all.length === 0) return;
        const changed = put(doc, all[pick % all.length] as (string | number)[], value);
        const fast = byShortcut(changed);
        if (fast === undefined) declined++;
        else {
          taken++;
          expect(fast).toBe(bySchema(changed));
        }
      }),
      { numRuns: 4000 },
    );
    // Both sides are reached often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(300);
    expect(declined).toBeGreaterThan(300);
  });

  test("the current results of the spec, libcni and the real plugins are taken, as the schema reads them", () => {
    const docs = [
      ...fixtureNames("spec")
        .filter((n) => /^v1\./.test(n))
        .map((n) => `spec/${n}`),
      ...fixtureNames("plugins")
        .filter((n) => /v1\.\d\.\d-dualstack/.test(n))
        .map((n) => `plugins/${n}`),
    ];
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const name of docs) {
      // The spec's examples leave cniVersion out (a prevResult); parseResult then reads them as the
      // version the file is named after, and so does this.
      const doc = { ...fixture(name), cniVersion: (/v(1\.\d\.\d)/.exec(name) as RegExpExecArray)[1] } as Doc;
      expect(byShortcut(doc), name).toBeDefined();
      expect(byShortcut(doc), name).toBe(bySchema(doc));
    }
  });

  test("parseResult gives the same typed error as before for what the shortcut declines", () => {
    expect(() =>
      parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.1.0.2/24", gateway: "fd00::1" }] }),
    ).toThrow(/ips\[0\]\.gateway|ips.0.gateway/);
    expect(() => parseResult({ cniVersion: "1.1.0", interfaces: [{ name: "" }] })).toThrow(/interfaces/);
  });
});
