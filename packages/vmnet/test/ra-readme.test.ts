// The README's "IPv6 for the VM" example runs as written (this package taken from dist) and
// prints what the README says.
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execaNode } from "execa";
import { expect, test } from "vitest";

describePrivileged("README: IPv6 for the VM", () => {
  test("the example runs and prints what the README says", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## IPv6 for the VM"));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const file = new URL(`../.readme-ipv6-${process.pid}.mjs`, import.meta.url).pathname;
    const dist = new URL("../dist/index.js", import.meta.url).pathname;
    await writeFile(file, (code as string).replace('"@vmnet/vmnet"', JSON.stringify(dist)));
    try {
      const r = await execaNode(file);
      expect(r.stdout).toBe("default via fe80::42:aff:fef4:101 duid=00030001");
      expect(section).toContain(`It prints \`${r.stdout}\``);
    } finally {
      await rm(file, { force: true });
    }
  }, 30_000);
});
