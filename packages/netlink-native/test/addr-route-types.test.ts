// Route types get iproute2's default scope and table, address lifetimes and a derived broadcast
// are applied for real and read back, compared with what iproute2 makes of the same commands.
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import * as C from "../src/codec/constants.js";
import { NetlinkInputError, type Route, Rtnl } from "../src/index.js";

const pick = (r: Route | undefined) =>
  r && { type: r.type, scope: r.scope, table: r.table, protocol: r.protocol };

describePrivileged("route types and address options, applied", () => {
  test("every route type gets the scope and table iproute2 gives it", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" }, up: true });
      await rtnl.addresses.add("a0", "10.0.0.1/24");
      const ours: [string, Parameters<typeof rtnl.routes.add>[0]][] = [
        ["blackhole", { dst: "10.9.0.0/24", type: "blackhole" }],
        ["unreachable", { dst: "10.9.1.0/24", type: "unreachable" }],
        ["prohibit", { dst: "10.9.2.0/24", type: "prohibit" }],
        ["throw", { dst: "10.9.3.0/24", type: "throw" }],
        ["local", { dst: "10.9.4.1/32", type: "local", dev: "a0" }],
        ["broadcast", { dst: "10.9.5.255/32", type: "broadcast", dev: "a0" }],
        ["unicast", { dst: "10.9.7.0/24", dev: "a0" }],
        ["unicast via", { dst: "10.9.8.0/24", gateway: "10.0.0.2" }],
      ];
      for (const [, spec] of ours) await rtnl.routes.add(spec);
      await rtnl.routes.add({ dst: "2001:db8:9::/48", type: "blackhole" });
      const mine = await rtnl.routes.list({ table: 0 });
      // The same routes made by iproute2, in a second netns, read back by the same decoder.
      const { createNetns } = await import("@vmnet/harness");
      const other = await createNetns();
      const theirs = await Rtnl.open({ netns: other.name });
      try {
        for (const cmd of [
          "link add a0 type veth peer name a1",
          "link set a0 up",
          "addr add 10.0.0.1/24 dev a0",
          "route add blackhole 10.9.0.0/24",
          "route add unreachable 10.9.1.0/24",
          "route add prohibit 10.9.2.0/24",
          "route add throw 10.9.3.0/24",
          "route add local 10.9.4.1 dev a0",
          "route add broadcast 10.9.5.255 dev a0",
          "route add 10.9.7.0/24 dev a0",
          "route add 10.9.8.0/24 via 10.0.0.2",
          "-6 route add blackhole 2001:db8:9::/48",
        ])
          await other.exec("ip", cmd.split(" "));
        const ip = await theirs.routes.list({ table: 0 });
        for (const dst of [
          "10.9.0.0/24",
          "10.9.1.0/24",
          "10.9.2.0/24",
          "10.9.3.0/24",
          "10.9.4.1/32",
          "10.9.5.255/32",
          "10.9.7.0/24",
          "10.9.8.0/24",
          "2001:db8:9::/48",
        ]) {
          const a = pick(mine.find((r) => r.dst === dst));
          expect(a, dst).toBeDefined();
          expect(a, dst).toEqual(pick(ip.find((r) => r.dst === dst)));
        }
        // The defect this guards: a blackhole route was scope link; iproute2's is global.
        expect(mine.find((r) => r.dst === "10.9.0.0/24")?.scope).toBe(C.RT_SCOPE_UNIVERSE);
        expect(mine.find((r) => r.dst === "10.9.4.1/32")?.table).toBe(C.RT_TABLE_LOCAL);
      } finally {
        theirs.close();
        await other.remove();
      }
    } finally {
      rtnl.close();
    }
  });

  test("address lifetimes and a derived broadcast are applied and read back", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" }, up: true });
      await rtnl.addresses.add("a0", "10.0.0.1/24", { validLifetime: 100, preferredLifetime: 50 });
      await rtnl.addresses.add("a0", "10.1.0.1/20", { broadcast: "+" });
      await rtnl.addresses.add("a0", "10.2.0.1/31", { broadcast: "+" });
      await rtnl.addresses.add("a0", "2001:db8::6/64", {
        nodad: true,
        validLifetime: 300,
        preferredLifetime: 120,
      });
      const ours = await rtnl.addresses.list({ link: "a0" });
      const [ip] = (await netns.ipJson(["addr", "show", "a0"])) as {
        addr_info: {
          local: string;
          broadcast?: string;
          valid_life_time: number;
          preferred_life_time: number;
        }[];
      }[];
      const theirs = ip?.addr_info ?? [];
      const a = ours.find((x) => x.address === "10.0.0.1");
      // The kernel counts down from what we set; a second or two may have passed.
      expect(a?.validLifetime).toBeGreaterThan(95);
      expect(a?.validLifetime).toBeLessThanOrEqual(100);
      expect(a?.preferredLifetime).toBeGreaterThan(45);
      expect(a?.preferredLifetime).toBeLessThanOrEqual(50);
      const t = theirs.find((x) => x.local === "10.0.0.1");
      expect(Math.abs((t?.valid_life_time ?? 0) - (a?.validLifetime ?? -9))).toBeLessThanOrEqual(1);
      const v6 = ours.find((x) => x.address === "2001:db8::6");
      expect(v6?.validLifetime).toBeGreaterThan(295);
      expect(v6?.preferredLifetime).toBeLessThanOrEqual(120);
      expect(ours.find((x) => x.address === "10.1.0.1")?.broadcast).toBe("10.1.15.255");
      expect(theirs.find((x) => x.local === "10.1.0.1")?.broadcast).toBe("10.1.15.255");
      expect(ours.find((x) => x.address === "10.2.0.1")?.broadcast).toBeUndefined();
      // preferred above valid, a zero valid lifetime, and "+" on IPv6 are input errors.
      for (const [call, field] of [
        [
          () => rtnl.addresses.add("a0", "10.3.0.1/24", { validLifetime: 10, preferredLifetime: 20 }),
          "options.preferredLifetime",
        ],
        [() => rtnl.addresses.add("a0", "10.3.0.1/24", { validLifetime: 0 }), "options.validLifetime"],
        [() => rtnl.addresses.add("a0", "2001:db8::7/64", { broadcast: "+" }), "options.broadcast"],
        [() => rtnl.addresses.add("a0", "10.3.0.1/24", { validLifetime: -1 }), "options.validLifetime"],
        [
          () =>
            rtnl.addresses.add("a0", "2001:db8::5/64", { validLifetime: 200, preferredLifetime: "forever" }),
          "options.preferredLifetime",
        ],
      ] as const) {
        const e = await call().catch((x: unknown) => x);
        expect(e, field).toBeInstanceOf(NetlinkInputError);
        expect((e as NetlinkInputError).field).toBe(field);
      }
    } finally {
      rtnl.close();
    }
  });
});
