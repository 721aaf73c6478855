// Properties over generated results of every version.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  CNI_VERSIONS,
  CniResultError,
  convertResult,
  parseResult,
  type Result040,
  serializeResult,
} from "../src/index.js";
import { anyResult, result020, result040, resultV1 } from "./support/arbitraries.js";

describe("parse(serialize(x)) = x", () => {
  test.each([
    ["0.1.0/0.2.0", result020],
    ["0.3.x/0.4.0", result040],
    ["1.0.0/1.1.0", resultV1],
  ] as const)("%s", (_name, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (result) => {
        expect(parseResult(serializeResult(result))).toEqual(result);
        expect(parseResult(serializeResult(result, 2))).toEqual(result);
      }),
      { numRuns: 300 },
    );
  });
});

describe("conversion", () => {
  test("every conversion yields a valid document of the target version, or fails for want of an IP", () => {
    fc.assert(
      fc.property(anyResult, fc.constantFrom(...CNI_VERSIONS), (result, version) => {
        let converted: ReturnType<typeof convertResult>;
        try {
          converted = convertResult(result, version);
        } catch (error) {
          expect(error).toBeInstanceOf(CniResultError);
          expect((error as CniResultError).reason).toContain("has no IP address");
          return;
        }
        expect(converted.cniVersion).toBe(version);
        expect(parseResult(serializeResult(converted))).toEqual(converted);
      }),
      { numRuns: 300 },
    );
  });

  test("0.3.x/0.4.0 -> 1.x -> back is the identity", () => {
    fc.assert(
      fc.property(result040, fc.constantFrom("1.0.0" as const, "1.1.0" as const), (result, up) => {
        expect(convertResult(convertResult(result, up), result.cniVersion)).toEqual(result);
      }),
    );
  });

  test("0.1.0/0.2.0 -> any newer -> back is the identity", () => {
    fc.assert(
      fc.property(
        result020,
        fc.constantFrom("0.3.0" as const, "0.4.0" as const, "1.0.0" as const, "1.1.0" as const),
        (result, up) => {
          if (!result.ip4 && !result.ip6) return;
          expect(convertResult(convertResult(result, up), result.cniVersion)).toEqual(result);
        },
      ),
    );
  });

  test("1.x -> 0.4.0 -> 1.x keeps everything but the 1.1.0 interface fields", () => {
    fc.assert(
      fc.property(resultV1, (result) => {
        const back = convertResult(convertResult(result, "0.4.0"), result.cniVersion);
        const expected = {
          ...result,
          ...(result.interfaces && {
            interfaces: result.interfaces.map(({ mtu: _m, socketPath: _s, pciID: _p, ...rest }) => rest),
          }),
        };
        expect(back).toEqual(expected);
      }),
    );
  });

  test("strict conversion either succeeds without loss or names what it would lose", () => {
    fc.assert(
      fc.property(anyResult, fc.constantFrom(...CNI_VERSIONS), (result, version) => {
        try {
          const converted = convertResult(result, version, { strict: true });
          const lenient = convertResult(result, version);
          expect(converted).toEqual(lenient);
        } catch (error) {
          expect(error).toBeInstanceOf(CniResultError);
          expect((error as CniResultError).path).not.toBe("");
        }
      }),
      { numRuns: 300 },
    );
  });

  test("the IP version fields a 1.x -> 0.4.0 conversion writes match the addresses", () => {
    fc.assert(
      fc.property(resultV1, (result) => {
        const v040: Result040 = convertResult(result, "0.4.0");
        for (const ip of v040.ips ?? []) expect(ip.version).toBe(ip.address.includes(":") ? "6" : "4");
      }),
    );
  });
});
