import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skipBecause, which } from "@vmnet/harness";
import { describe, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs script, shared with the fixture recorder
import { EXPRESSIONS, emptyPcap, tcpdumpProgram } from "../scripts/record-filters.mjs";
import {
  CaptureFilterError,
  CaptureInputError,
  compileFilter,
  formatBpfDecimal,
  parseBpfDecimal,
} from "../src/index.js";

interface Fixtures {
  snaplen: number;
  netmask: number;
  filters: { expression: string; ddd: string }[];
}
const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/filters.json", import.meta.url), "utf8"),
) as Fixtures;

describe("filter compilation", () => {
  test("the fixture table covers 20+ expressions and matches the recorder's list", () => {
    expect(fixtures.filters.length).toBeGreaterThanOrEqual(20);
    expect(fixtures.filters.map((f) => f.expression)).toEqual(EXPRESSIONS);
  });

  test.each(fixtures.filters)("$expression compiles to what tcpdump -ddd printed", ({ expression, ddd }) => {
    const program = compileFilter(expression, { snaplen: fixtures.snaplen, netmask: fixtures.netmask });
    expect(formatBpfDecimal(program)).toBe(ddd);
    expect(parseBpfDecimal(ddd)).toEqual(program);
  });

  const noTcpdump = skipBecause(
    "live comparison with tcpdump -ddd",
    which("tcpdump") ? undefined : "tcpdump is not installed (apt-get install tcpdump)",
  );
  test.skipIf(noTcpdump)(
    "every expression equals the installed tcpdump's program, at two snap lengths",
    () => {
      for (const snaplen of [1600, 96]) {
        const pcap = emptyPcap(mkdtempSync(join(tmpdir(), "vmnet-f-")), snaplen);
        for (const expression of EXPRESSIONS as string[]) {
          expect(formatBpfDecimal(compileFilter(expression, { snaplen })), expression).toBe(
            tcpdumpProgram(pcap, expression),
          );
        }
      }
    },
  );

  test("a bad expression is a CaptureFilterError with libpcap's message on one line", () => {
    const bad = ["tcp port", "host 300.1.1.1", "ether proto nonsense", "tcp[99999] = 1 and"];
    for (const expression of bad) {
      let error: unknown;
      try {
        compileFilter(expression);
      } catch (e) {
        error = e;
      }
      expect(error, expression).toBeInstanceOf(CaptureFilterError);
      const e = error as CaptureFilterError;
      expect(e.expression).toBe(expression);
      expect(e.reason).not.toMatch(/\n/);
      expect(e.reason.length).toBeGreaterThan(5);
      expect(e.message).toBe(`filter "${expression}": ${e.reason}`);
    }
  });

  test.skipIf(noTcpdump)("the message is libpcap's own, as tcpdump prints it", () => {
    let reason = "";
    try {
      compileFilter("tcp port");
    } catch (e) {
      reason = (e as CaptureFilterError).reason;
    }
    const pcap = emptyPcap(mkdtempSync(join(tmpdir(), "vmnet-f-")));
    let stderr = "";
    try {
      execFileSync("tcpdump", ["-r", pcap, "-d", "tcp port"], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(reason).toBe("can't parse filter expression: syntax error");
    expect(stderr).toContain(reason);
  });

  test("an empty expression is an input error", () => {
    expect(() => compileFilter("  ")).toThrow(CaptureInputError);
  });
});
