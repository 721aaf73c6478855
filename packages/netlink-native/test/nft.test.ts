// The nftables client against the kernel, checked with the real `nft`: what we add is what nft
// lists, a failed batch leaves nothing behind, comments round-trip, handles do not leak fds.
import { readdirSync } from "node:fs";
import { requireProgram } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { NetlinkError } from "../src/errors.js";
import {
  chainAdd,
  matchDestinationPorts,
  matchInterfaceName,
  matchL4Proto,
  Nft,
  ruleAdd,
  tableAdd,
  verdict,
} from "../src/nft/index.js";

const MARK = "vmnet:1 owner=vmnet pid=1@2 role=dhcp-block";

describePrivileged("nftables over netlink", () => {
  test("a table, a base chain and rules land as nft shows them", async ({ netns }) => {
    requireProgram("nft", "nftables");
    const nft = await Nft.open({ netns: netns.name });
    try {
      await nft.commit([
        tableAdd({ family: "bridge", name: "vm0", comment: MARK }),
        chainAdd({
          family: "bridge",
          table: "vm0",
          name: "forward",
          hook: { hook: "forward", priority: -200, policy: "accept" },
        }),
        ruleAdd({
          family: "bridge",
          table: "vm0",
          chain: "forward",
          expressions: [
            ...matchInterfaceName("iifname", "eth0"),
            ...matchL4Proto(17),
            ...matchDestinationPorts(67, 68),
            verdict("drop"),
          ],
          comment: MARK,
        }),
      ]);
      const listed = await netns.exec("nft", ["list", "ruleset"]);
      expect(listed.stdout).toContain(`table bridge vm0 {\n\tcomment "${MARK}"`);
      // -200 is the bridge family's "filter" priority, which nft prints by name.
      expect(listed.stdout).toMatch(/type filter hook forward priority (filter|-200); policy accept;/);
      expect(listed.stdout).toContain(`iifname "eth0" udp dport 67-68 drop comment "${MARK}"`);

      const tables = await nft.tables();
      expect(tables).toEqual([
        expect.objectContaining({ family: "bridge", name: "vm0", comment: MARK, use: 1 }),
      ]);
      const chains = await nft.chains("bridge");
      expect(chains).toEqual([
        expect.objectContaining({
          table: "vm0",
          name: "forward",
          type: "filter",
          policy: "accept",
          hook: { hook: 2, priority: -200 },
        }),
      ]);
      const rules = await nft.rules("bridge");
      expect(rules).toHaveLength(1);
      expect(rules[0]?.comment).toBe(MARK);
      expect(rules[0]?.expressions.map((e) => e.kind)).toEqual([
        "meta",
        "cmp",
        "meta",
        "cmp",
        "payload",
        "cmp",
        "cmp",
        "immediate",
      ]);

      // A rule nft adds is read back by us too.
      await netns.exec("nft", [
        "add",
        "rule",
        "bridge",
        "vm0",
        "forward",
        "oifname",
        "tap0",
        "udp",
        "dport",
        "546-547",
        "accept",
      ]);
      expect((await nft.rules()).map((r) => r.expressions.at(-1))).toEqual([
        { kind: "immediate", verdict: "drop" },
        { kind: "immediate", verdict: "accept" },
      ]);

      expect(await nft.deleteTable("bridge", "vm0")).toBe(true);
      expect(await nft.deleteTable("bridge", "vm0")).toBe(false);
      expect(String((await netns.exec("nft", ["list", "ruleset"])).stdout).trim()).toBe("");
    } finally {
      nft.close();
    }
  });

  test("a batch with a bad request applies nothing and names the request", async ({ netns }) => {
    const nft = await Nft.open({ netns: netns.name });
    try {
      const failure = await nft
        .commit([
          tableAdd({ family: "bridge", name: "ok" }),
          chainAdd({ family: "bridge", table: "missing", name: "c" }),
        ])
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(NetlinkError);
      expect((failure as NetlinkError).code).toBe("ENOENT");
      expect((failure as NetlinkError).message).toContain('chain add "bridge missing c"');
      expect(await nft.tables()).toEqual([]);
      // The handle still works after a failed batch.
      await nft.commit([tableAdd({ family: "netdev", name: "after" })]);
      expect((await nft.tables()).map((t) => t.name)).toEqual(["after"]);
    } finally {
      nft.close();
    }
  });

  test("a netns that does not exist is refused; a thousand handles leak no fd", async ({ netns }) => {
    await expect(Nft.open({ netns: "vmnet-no-such-netns" })).rejects.toThrow();
    const fds = () => readdirSync("/proc/self/fd").length;
    (await Nft.open({ netns: netns.name })).close(); // warm up: the addon's own fds
    const before = fds();
    for (let i = 0; i < 1000; i++) {
      const nft = await Nft.open({ netns: netns.name });
      if (i % 100 === 0) await nft.tables();
      nft.close();
    }
    expect(fds()).toBe(before);
  });
});
