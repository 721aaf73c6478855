// The README's Bridges example runs as written (this package taken from dist) and prints what the
// README says.
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execaNode } from "execa";
import { expect, test } from "vitest";

describePrivileged("README: Bridges", () => {
  test("the example runs and prints what the README says", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Bridges"));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const file = new URL(`../.readme-bridges-${process.pid}.mjs`, import.meta.url).pathname;
    const dist = new URL("../dist/index.js", import.meta.url).pathname;
    await writeFile(file, (code as string).replace('"@vmnet/vmnet"', JSON.stringify(dist)));
    try {
      const r = await execaNode(file);
      const lines = r.stdout.split("\n");
      expect(lines).toEqual(["mega_tap0 10 true 52:54:00:00:00:01", "mega_tap1 20 true -"]);
      expect(section).toContain(`It prints \`${lines[0]}\` and \`${lines[1]}\``);
    } finally {
      await rm(file, { force: true });
    }
  }, 60_000);
});
