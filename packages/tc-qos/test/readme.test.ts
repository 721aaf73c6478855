// The README's example runs as written (with the package taken from dist) and prints what the
// README says it prints.
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execaNode } from "execa";
import { expect, test } from "vitest";

describePrivileged("README", () => {
  test("the example runs on this kernel and prints the tbf it set", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Beside package.json, so "@vmnet/netlink-native" resolves; this package from dist.
    const file = new URL(`../.readme-example-${process.pid}.mjs`, import.meta.url).pathname;
    const dist = new URL("../dist/index.js", import.meta.url).pathname;
    await writeFile(file, (code as string).replace('"@vmnet/tc-qos"', JSON.stringify(dist)));
    try {
      const r = await execaNode(file);
      expect(r.stdout).toBe("1250000 16383 50000 [ 'tbf 1: root' ]");
      expect(readme).toContain(`It prints \`${r.stdout}\``);
    } finally {
      await rm(file, { force: true });
    }
  });
});
