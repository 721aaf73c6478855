// The spec's and libcni's own example documents (fixtures/spec, sources in fixtures/SOURCES.md)
// must parse, keep every field, and convert the way libcni converts them.

import { describe, expect, test } from "vitest";
import {
  CNI_VERSIONS,
  type CniVersion,
  convertResult,
  isErrorResult,
  parseErrorResult,
  parseResult,
  serializeResult,
} from "../src/index.js";
import { fixture, fixtureText } from "./support/fixtures.js";

/** Each example and the versions it is read as (documents without cniVersion take the option). */
const examples: [file: string, versions: CniVersion[]][] = [
  ["spec/v0.1.0-libcni.json", ["0.1.0"]],
  ["spec/v0.2.0-libcni-no-version.json", ["0.1.0", "0.2.0"]],
  ["spec/v0.3.1-spec-prevresult.json", ["0.3.0", "0.3.1"]],
  ["spec/v0.4.0-spec-prevresult.json", ["0.4.0"]],
  ["spec/v0.4.0-libcni.json", ["0.4.0"]],
  ["spec/v1.0.0-spec-host-local.json", ["1.0.0"]],
  ["spec/v1.0.0-spec-bridge.json", ["1.0.0"]],
  ["spec/v1.0.0-spec-tuning.json", ["1.0.0"]],
  ["spec/v1.1.0-libcni.json", ["1.1.0"]],
  ["plugins/bridge-v0.2.0-dualstack.json", ["0.2.0"]],
  ["plugins/bridge-v1.0.0-dualstack.json", ["1.0.0"]],
];

describe.each(examples)("%s", (file, versions) => {
  test.each(versions)("parses as %s and keeps every field", (version) => {
    const doc = fixture(file);
    const result = parseResult(fixtureText(file), { cniVersion: version });
    expect(result).toEqual({ ...doc, cniVersion: doc.cniVersion ?? version });
  });

  test.each(versions)("as %s, converts to every version and back to what it was", (version) => {
    const result = parseResult(fixture(file), { cniVersion: version });
    for (const target of CNI_VERSIONS) {
      const converted = convertResult(result, target);
      expect(converted.cniVersion).toBe(target);
      // What the conversion prints is a valid document of the target version.
      expect(parseResult(serializeResult(converted))).toEqual(converted);
      const back = convertResult(converted, version);
      const up = CNI_VERSIONS.indexOf(target) >= CNI_VERSIONS.indexOf(version);
      // Going up and back loses nothing; going down keeps what the lower version can hold.
      if (up) expect(back).toEqual(result);
      else expect(convertResult(back, target)).toEqual(converted);
    }
  });
});

describe("libcni's own conversions of its 1.1.0 example", () => {
  const v110 = parseResult(fixture("spec/v1.1.0-libcni.json"));

  test("to 0.4.0: ips gain version, interfaces lose pciID and socketPath", () => {
    expect(convertResult(v110, "0.4.0")).toEqual(fixture("spec/v0.4.0-libcni.json"));
  });

  test("to 0.1.0: first IPv4 and IPv6 become ip4/ip6, routes follow their family", () => {
    expect(convertResult(v110, "0.1.0")).toEqual(fixture("spec/v0.1.0-libcni.json"));
  });

  test("to 1.0.0 and back is identical (libcni shares one type)", () => {
    const v100 = convertResult(v110, "1.0.0");
    expect(v100.interfaces?.[0]?.pciID).toBe("8086:9a01");
    expect(convertResult(v100, "1.1.0")).toEqual(v110);
  });
});

describe("error results", () => {
  test("the spec's example", () => {
    const doc = fixture("spec/error-v1.0.0-spec.json");
    expect(isErrorResult(doc)).toBe(true);
    expect(parseErrorResult(fixtureText("spec/error-v1.0.0-spec.json"))).toEqual(doc);
  });

  test("a real plugin's refusal has no cniVersion", () => {
    const error = parseErrorResult(fixtureText("plugins/bridge-v1.1.0-refused.json"));
    expect(error.code).toBe(1);
    expect(error.cniVersion).toBeUndefined();
  });

  test("a success result is not an error result", () => {
    expect(isErrorResult(fixture("spec/v1.1.0-libcni.json"))).toBe(false);
  });

  test.each([
    ['{"msg":"x"}', "code: missing"],
    ['{"code":-1,"msg":"x"}', "code: must be at least 0, got -1"],
    ['{"code":"7","msg":"x"}', 'code: expected a number, got "7"'],
    ['{"code":7}', "msg: missing"],
  ])("rejects %s", (text, message) => {
    expect(() => parseErrorResult(text)).toThrow(message);
  });
});
