import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execaNode } from "execa";
import { expect, test } from "vitest";
import { readCaptureFile } from "../src/index.js";

describePrivileged("README", () => {
  test("the first example runs as written and captures its three pings", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Beside package.json, so "@vmnet/netlink-native" resolves; the package itself from dist.
    const file = new URL(`../.readme-example-${process.pid}.mjs`, import.meta.url).pathname;
    const dist = new URL("../dist/index.js", import.meta.url).pathname;
    await writeFile(file, (code as string).replace('"@vmnet/capture"', JSON.stringify(dist)));
    try {
      const r = await execaNode(file);
      expect(r.stdout).toMatch(/reason: 'stopped',\s+packets: 3,/);
      const read = await readCaptureFile("/tmp/capdemo.pcap");
      expect(read.packets).toHaveLength(3);
    } finally {
      await rm(file, { force: true });
    }
  });
});
