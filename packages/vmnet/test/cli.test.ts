import { expect, test } from "vitest";
import { main } from "../src/cli/main.js";

test("usage errors exit 2 and name the problem; help and version exit 0", async () => {
  const lines: string[] = [];
  expect(await main([], (l) => lines.push(l))).toBe(2);
  expect(lines.join("\n")).toContain("Usage: vmnet");
  expect(await main(["--help"], () => {})).toBe(0);
  expect(
    await main(
      ["bogus"],
      () => {},
      () => {},
    ),
  ).toBe(2);
  expect(
    await main(
      ["demo", "--nope"],
      () => {},
      () => {},
    ),
  ).toBe(2);
  const v: string[] = [];
  expect(await main(["--version"], (l) => v.push(l))).toBe(0);
  expect(v[0]).toMatch(/^\d+\.\d+\.\d+/);
});
