// NAT chains and rules built by our client, applied to a real kernel and listed by the real nft:
// what we send is what nft reads back (masquerade, dnat to address:port for IPv4 and IPv6, prefix
// matches with and without a mask, ct state), and our decoder reads back what nft adds.
import { requireProgram } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import {
  chainAdd,
  masquerade,
  matchAddress,
  matchCtState,
  matchDestinationPorts,
  matchInterfaceName,
  matchL4Proto,
  Nft,
  natTo,
  ruleAdd,
  tableAdd,
  verdict,
} from "../src/nft/index.js";

const MARK = "vmnet:1 owner=vmnet pid=1@2 role=csn";

describePrivileged("nftables NAT over netlink", () => {
  test("nat chains, masquerade and dnat land as nft lists them", async ({ netns }) => {
    requireProgram("nft", "nftables");
    await netns.exec("ip", ["link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
    const nft = await Nft.open({ netns: netns.name });
    try {
      const t = { family: "inet" as const, table: "vmnat" };
      await nft.commit([
        tableAdd({ family: "inet", name: "vmnat", comment: MARK }),
        chainAdd({
          ...t,
          name: "post",
          hook: { hook: "postrouting", priority: 100, type: "nat", policy: "accept" },
        }),
        chainAdd({
          ...t,
          name: "pre",
          hook: { hook: "prerouting", priority: -100, type: "nat", policy: "accept" },
        }),
        chainAdd({ ...t, name: "fw", hook: { hook: "forward", priority: 0, policy: "accept" } }),
        ruleAdd({
          ...t,
          chain: "post",
          expressions: [
            ...matchInterfaceName("oifname", "eth0"),
            ...matchAddress("saddr", "10.0.2.0/23"),
            masquerade(),
          ],
          comment: MARK,
        }),
        ruleAdd({
          ...t,
          chain: "post",
          expressions: [
            ...matchInterfaceName("oifname", "eth0"),
            ...matchAddress("saddr", "fd10:0:2::/120"),
            masquerade(),
          ],
        }),
        ruleAdd({
          ...t,
          chain: "pre",
          expressions: [
            ...matchInterfaceName("iifname", "eth0"),
            ...matchL4Proto(6),
            ...matchDestinationPorts(8080),
            ...natTo("dnat", "10.0.2.2", 80),
          ],
        }),
        ruleAdd({
          ...t,
          chain: "pre",
          expressions: [
            ...matchInterfaceName("iifname", "eth0"),
            ...matchL4Proto(17),
            ...matchDestinationPorts(53),
            ...natTo("dnat", "fd10:0:2::2"),
          ],
        }),
        ruleAdd({
          ...t,
          chain: "fw",
          expressions: [...matchCtState(["established", "related"]), verdict("accept")],
        }),
      ]);
      const listed = String((await netns.exec("nft", ["list", "ruleset"])).stdout);
      expect(listed).toContain("type nat hook postrouting priority srcnat; policy accept;");
      expect(listed).toContain("type nat hook prerouting priority dstnat; policy accept;");
      expect(listed).toContain(`oifname "eth0" ip saddr 10.0.2.0/23 masquerade comment "${MARK}"`);
      expect(listed).toContain('oifname "eth0" ip6 saddr fd10:0:2::/120 masquerade');
      expect(listed).toContain('iifname "eth0" tcp dport 8080 dnat ip to 10.0.2.2:80');
      expect(listed).toContain('iifname "eth0" udp dport 53 dnat ip6 to fd10:0:2::2');
      expect(listed).toContain("ct state established,related accept");
      const rules = await nft.rules("inet");
      expect(rules.map((r) => r.expressions.at(-1)?.kind)).toEqual([
        "masq",
        "masq",
        "nat",
        "nat",
        "immediate",
      ]);
      expect(rules.flatMap((r) => r.expressions).some((e) => e.kind === "raw")).toBe(false);
      expect(await nft.deleteTable("inet", "vmnat")).toBe(true);
      expect(String((await netns.exec("nft", ["list", "ruleset"])).stdout).trim()).toBe("");
    } finally {
      nft.close();
    }
  });
});
