import { execa } from "execa";
import { expect, test } from "vitest";
import { createNetns, isolated, privilegeGap, withNetns } from "../src/index.mjs";
import { describePrivileged, netnsTest } from "../src/vitest.mjs";

test("the suite knows whether it is isolated", () => {
  expect(typeof isolated).toBe("boolean");
  if (!privilegeGap()) expect(isolated).toBe(true);
});

describePrivileged("private namespaces", () => {
  test("the test process sees only its own loopback, never the host's interfaces", async () => {
    const { stdout } = await execa("ip", ["-j", "link", "show"]);
    const names = (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
    expect(names).toEqual(["lo"]);
  });

  netnsTest("each test gets its own named netns with loopback up", async ({ netns }) => {
    const links = await netns.ipJson(["link", "show", "lo"]);
    expect(links[0].operstate === "UNKNOWN" || links[0].flags.includes("UP")).toBe(true);
    const { stdout } = await execa("ip", ["netns", "list"]);
    expect(stdout).toContain(netns.name);
  });

  test("a namespace is removed even when the test body throws", async () => {
    let name = "";
    await expect(
      withNetns(async (ns) => {
        name = ns.name;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const { stdout } = await execa("ip", ["netns", "list"]);
    expect(name).not.toBe("");
    expect(stdout).not.toContain(name);
  });

  test("two namespaces are distinct", async () => {
    const a = await createNetns();
    const b = await createNetns();
    try {
      await a.exec("ip", ["link", "add", "x0", "type", "veth", "peer", "name", "x1"]);
      expect((await a.ipJson(["link"])).map((l: { ifname: string }) => l.ifname)).toContain("x0");
      expect((await b.ipJson(["link"])).map((l: { ifname: string }) => l.ifname)).toEqual(["lo"]);
    } finally {
      await a.remove();
      await b.remove();
    }
  });
});
