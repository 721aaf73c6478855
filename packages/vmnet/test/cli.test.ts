import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
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

describePrivileged("vmnet demo", () => {
  test("builds the network, proves VLAN isolation, and leaves nothing behind", async () => {
    const before = (await execa("ip", ["netns", "list"])).stdout;
    const lines: string[] = [];
    expect(await main(["demo"], (l) => lines.push(l))).toBe(0);
    const text = lines.join("\n");
    expect(text).toMatch(/ping h1 -> h2 \(same VLAN 10\): replies/);
    expect(text).toMatch(/ping h1 -> h3 \(VLAN 20\): no reply, as it must/);
    expect(text).toMatch(/CNI 1\.0\.0 result from the real ptp plugin: \d+ interfaces, 10\.9\.0\.\d+\/24/);
    expect(text).toMatch(/vmnet demo: OK/);
    expect((await execa("ip", ["netns", "list"])).stdout).toBe(before);
    // The daemons are gone (a reaped or defunct entry is a dead process).
    const { stdout } = await execa("ps", ["-eo", "stat=,comm="]);
    const alive = stdout.split("\n").filter((l) => /ovs/.test(l) && !l.trim().startsWith("Z"));
    expect(alive).toEqual([]);
  });
});
