// Everything configured through Rtnl is read back by our own dump and by iproute2 (`ip -j`), and
// the two must agree field by field. Each test has its own netns (harness fixture).
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { NetlinkError, NetlinkInputError, Rtnl } from "../src/index.js";

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  master?: string;
  group: string;
  txqlen?: number;
  operstate: string;
  flags: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

describePrivileged("rtnl against the kernel and iproute2", () => {
  test("links of every kind this kernel has agree with ip -j -d link", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "bridge", name: "br0", ageingTime: 1234, up: true });
      await rtnl.links.add({
        kind: "veth",
        name: "v0",
        peer: { name: "v1", mtu: 1400 },
        mtu: 1400,
        master: "br0",
        up: true,
      });
      await rtnl.links.add({
        kind: "vxlan",
        name: "vx0",
        vni: 42,
        remote: "10.9.9.9",
        port: 4789,
        learning: false,
      });
      await rtnl.links.add({
        kind: "macvlan",
        name: "mv0",
        parent: "v1",
        mode: "bridge",
        mac: "02:00:00:00:00:42",
      });
      await rtnl.links.add({ kind: "macvtap", name: "mvt0", parent: "v1", mode: "vepa" });
      await rtnl.links.add({ kind: "ifb", name: "ifb0", txqlen: 77, group: 5, alias: "shaper" });
      const ours = await rtnl.links.list();
      const theirs = (await netns.ipJson(["-d", "link", "show"])) as IpLink[];
      expect(ours.map((l) => l.name).sort()).toEqual(theirs.map((l) => l.ifname).sort());
      for (const t of theirs) {
        const o = ours.find((l) => l.index === t.ifindex);
        expect(o, t.ifname).toBeDefined();
        if (!o) continue;
        expect(o.name).toBe(t.ifname);
        expect(o.mtu).toBe(t.mtu);
        expect(o.up).toBe(t.flags.includes("UP"));
        expect(o.operstate.toUpperCase()).toBe(t.operstate);
        if (t.address) expect(o.mac).toBe(t.address);
        if (t.master) expect(ours.find((l) => l.index === o.master)?.name).toBe(t.master);
        if (t.txqlen !== undefined) expect(o.txqlen).toBe(t.txqlen);
        expect(o.group === 0 ? "default" : String(o.group)).toBe(t.group);
        expect(o.alias).toBe(t.ifalias);
        expect(o.kind).toBe(t.linkinfo?.info_kind);
      }
      const vx = ours.find((l) => l.name === "vx0");
      const vxIp = theirs.find((l) => l.ifname === "vx0")?.linkinfo?.info_data as Record<string, unknown>;
      expect(vx?.info).toMatchObject({
        kind: "vxlan",
        vni: vxIp.id,
        port: vxIp.port,
        remote: vxIp.remote,
        learning: vxIp.learning,
      });
      // info is typed per kind: narrowing on kind gives the kind's fields.
      if (vx?.info?.kind !== "vxlan") throw new Error("vx0 decoded without vxlan info");
      expect(vx.info.vni).toBe(42);
      const veth = ours.find((l) => l.name === "v0");
      expect(veth?.info).toEqual({ kind: "veth" });
      const br = theirs.find((l) => l.ifname === "br0")?.linkinfo?.info_data as Record<string, unknown>;
      expect(ours.find((l) => l.name === "br0")?.info).toMatchObject({
        kind: "bridge",
        ageingTime: br.ageing_time,
        stp: br.stp_state !== 0,
      });
      expect(ours.find((l) => l.name === "mv0")?.info).toEqual({ kind: "macvlan", mode: "bridge" });
      expect(ours.find((l) => l.name === "mvt0")?.info).toEqual({ kind: "macvtap", mode: "vepa" });
    } finally {
      rtnl.close();
    }
  });

  test("link set: up/down, mtu, mac, name, alias, txqlen, group, promisc, master/nomaster", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "bridge", name: "br0" });
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" } });
      await rtnl.links.set("a0", {
        up: true,
        mtu: 1300,
        mac: "02:11:22:33:44:55",
        alias: "uplink",
        txqlen: 321,
        group: 9,
        promisc: true,
        master: "br0",
      });
      let [ip] = (await netns.ipJson(["link", "show", "a0"])) as IpLink[];
      expect(ip).toMatchObject({
        mtu: 1300,
        address: "02:11:22:33:44:55",
        ifalias: "uplink",
        txqlen: 321,
        group: "9",
        master: "br0",
      });
      expect(ip?.flags).toEqual(expect.arrayContaining(["UP", "PROMISC"]));
      await rtnl.links.set("a0", { master: null, name: "b0", promisc: false });
      await rtnl.links.down("b0");
      [ip] = (await netns.ipJson(["link", "show", "b0"])) as IpLink[];
      expect(ip?.master).toBeUndefined();
      expect(ip?.flags).not.toContain("UP");
      expect(ip?.flags).not.toContain("PROMISC");
      const got = await rtnl.links.get("b0");
      expect(got).toMatchObject({ name: "b0", mtu: 1300, up: false, alias: "uplink", group: 9 });
      // Alternative names: longer than IFNAMSIZ, and get()/set() accept them.
      await rtnl.links.addAltName("b0", "a-rather-long-alternative-name");
      expect((await rtnl.links.get("a-rather-long-alternative-name")).index).toBe(got.index);
      await rtnl.links.set("a-rather-long-alternative-name", { mtu: 1280 });
      [ip] = (await netns.ipJson(["link", "show", "b0"])) as (IpLink & { altnames?: string[] })[];
      expect((ip as { altnames?: string[] }).altnames).toEqual(["a-rather-long-alternative-name"]);
      expect(ip?.mtu).toBe(1280);
      expect((await rtnl.links.get(got.index)).altNames).toEqual(["a-rather-long-alternative-name"]);
      await rtnl.links.deleteAltName("b0", "a-rather-long-alternative-name");
      await expect(rtnl.links.get("a-rather-long-alternative-name")).rejects.toMatchObject({
        code: "ENODEV",
      });
    } finally {
      rtnl.close();
    }
  });

  test("addresses (IPv4 and IPv6) agree with ip -j addr; replace and delete", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" }, up: true });
      await rtnl.addresses.add("a0", "10.0.0.1/24", { broadcast: "10.0.0.255" });
      await rtnl.addresses.add("a0", "10.0.1.1/32", { peer: "10.0.1.2" });
      await rtnl.addresses.add("a0", "10.0.2.1/24", { scope: "link" });
      await rtnl.addresses.add("a0", "2001:db8::1/64", { nodad: true });
      await rtnl.addresses.replace("a0", "10.0.0.1/24");
      await expect(rtnl.addresses.add("a0", "10.0.0.1/24")).rejects.toMatchObject({ code: "EEXIST" });
      const ours = await rtnl.addresses.list({ link: "a0" });
      const [ip] = (await netns.ipJson(["addr", "show", "a0"])) as { addr_info: Record<string, unknown>[] }[];
      const theirs = ip?.addr_info ?? [];
      expect(ours.map((a) => a.cidr).sort()).toEqual(theirs.map((a) => `${a.local}/${a.prefixlen}`).sort());
      for (const a of theirs) {
        const o = ours.find((x) => x.address === a.local);
        if (a.address) expect(o?.peer).toBe(a.address);
        if (a.broadcast) expect(o?.broadcast).toBe(a.broadcast);
      }
      expect(ours.find((a) => a.address === "10.0.2.1")?.scope).toBe(253);
      expect(await rtnl.addresses.deleteIfPresent("a0", "10.0.2.1/24")).toBe(true);
      expect(await rtnl.addresses.deleteIfPresent("a0", "10.0.2.1/24")).toBe(false);
      expect((await rtnl.addresses.list({ link: "a0", family: "inet" })).map((a) => a.cidr).sort()).toEqual([
        "10.0.0.1/24",
        "10.0.1.1/32",
      ]);
    } finally {
      rtnl.close();
    }
  });

  test("routes: gateway, dev, metric, table, protocol, onlink, mtu, multipath, IPv6; agree with ip -j route", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" }, up: true });
      await rtnl.links.up("a1");
      await rtnl.addresses.add("a0", "10.0.0.1/24");
      await rtnl.addresses.add("a0", "2001:db8::1/64", { nodad: true });
      await rtnl.routes.add({ dst: "10.1.0.0/16", gateway: "10.0.0.2", metric: 100 });
      await rtnl.routes.add({ dst: "10.2.0.0/16", dev: "a0" });
      await rtnl.routes.add({ dst: "10.3.0.0/16", gateway: "10.0.0.3", table: 100, protocol: "static" });
      await rtnl.routes.add({ dst: "10.4.0.0/16", gateway: "10.0.0.4", mtu: 1400, advmss: 1300 });
      await rtnl.routes.add({
        dst: "10.5.0.0/16",
        multipath: [
          { gateway: "10.0.0.2", weight: 1 },
          { gateway: "10.0.0.3", weight: 3 },
        ],
      });
      await rtnl.routes.add({ dst: "default", gateway: "192.0.2.1", dev: "a0", onlink: true });
      await rtnl.routes.add({ dst: "2001:db8:1::/48", gateway: "2001:db8::2", dev: "a0" });
      await rtnl.routes.replace({ dst: "10.1.0.0/16", gateway: "10.0.0.9", metric: 100 });
      const ours = await rtnl.routes.list({ family: "inet" });
      const theirs = (await netns.ipJson(["-4", "route", "show"])) as Record<string, unknown>[];
      expect(ours.map((r) => r.dst).sort()).toEqual(
        theirs
          .map((r) => (r.dst === "default" ? "default" : String(r.dst).includes("/") ? r.dst : `${r.dst}/32`))
          .sort(),
      );
      for (const t of theirs) {
        const dst = t.dst === "default" ? "default" : String(t.dst);
        const o = ours.find((r) => r.dst === dst);
        expect(o, dst).toBeDefined();
        if (t.gateway) expect(o?.gateway).toBe(t.gateway);
        if (t.metric) expect(o?.metric).toBe(t.metric);
        if (t.mtu) expect(o?.mtu).toBe(t.mtu);
        if (t.nexthops)
          expect(o?.multipath?.map((n) => n.gateway)).toEqual(
            (t.nexthops as { gateway: string }[]).map((n) => n.gateway),
          );
      }
      expect(ours.find((r) => r.dst === "10.1.0.0/16")?.gateway).toBe("10.0.0.9");
      expect(ours.find((r) => r.dst === "10.4.0.0/16")).toMatchObject({ mtu: 1400, advmss: 1300 });
      expect(ours.find((r) => r.dst === "10.5.0.0/16")?.multipath).toMatchObject([
        { weight: 1 },
        { weight: 3 },
      ]);
      const t100 = await rtnl.routes.list({ table: 100 });
      expect(t100).toMatchObject([{ dst: "10.3.0.0/16", gateway: "10.0.0.3", protocol: 4, table: 100 }]);
      const v6 = await rtnl.routes.list({ family: "inet6" });
      expect(v6.find((r) => r.dst === "2001:db8:1::/48")?.gateway).toBe("2001:db8::2");
      await rtnl.routes.delete({ dst: "10.2.0.0/16" });
      expect(await rtnl.routes.deleteIfPresent({ dst: "10.2.0.0/16" })).toBe(false);
    } finally {
      rtnl.close();
    }
  });

  test("neighbours add/replace/list/delete agree with ip -j neigh", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" }, up: true });
      await rtnl.neighbours.add("a0", { address: "10.0.0.7", mac: "02:00:00:00:00:07" });
      await rtnl.neighbours.replace("a0", {
        address: "10.0.0.8",
        mac: "02:00:00:00:00:08",
        state: "reachable",
      });
      await rtnl.neighbours.add("a0", { address: "2001:db8::7", mac: "02:00:00:00:00:17" });
      const ours = await rtnl.neighbours.list({ link: "a0" });
      const theirs = (await netns.ipJson(["neigh", "show", "dev", "a0"])) as {
        dst: string;
        lladdr: string;
        state: string[];
      }[];
      for (const t of theirs) {
        const o = ours.find((n) => n.address === t.dst);
        expect(o?.mac).toBe(t.lladdr);
        expect(String(o?.state).toUpperCase()).toBe(t.state[0]);
      }
      expect(ours.length).toBe(theirs.length);
      await rtnl.neighbours.delete("a0", "10.0.0.7");
      expect(await rtnl.neighbours.deleteIfPresent("a0", "10.0.0.7")).toBe(false);
    } finally {
      rtnl.close();
    }
  });

  test("ensure is idempotent: add-or-set, and refuses a same-named link of another kind", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const first = await rtnl.links.ensure({ kind: "bridge", name: "br0", mtu: 1400 });
      const second = await rtnl.links.ensure({
        kind: "bridge",
        name: "br0",
        mtu: 1400,
        up: true,
        alias: "x",
      });
      expect(second.index).toBe(first.index);
      expect(second).toMatchObject({ up: true, alias: "x", mtu: 1400 });
      await expect(rtnl.links.ensure({ kind: "ifb", name: "br0" })).rejects.toMatchObject({ code: "EEXIST" });
      expect(await rtnl.links.deleteIfExists("br0")).toBe(true);
      expect(await rtnl.links.deleteIfExists("br0")).toBe(false);
    } finally {
      rtnl.close();
    }
  });

  test("veth peer in another netns, move a link, delete a group and many at once", async ({ netns }) => {
    const other = await (await import("@vmnet/harness")).createNetns();
    const rtnl = await Rtnl.open({ netns: netns.name });
    const there = await Rtnl.open({ netns: other.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "in0", peer: { name: "out0", netns: other.name } });
      expect((await there.links.get("out0")).kind).toBe("veth");
      await rtnl.links.add({ kind: "ifb", name: "mv0" });
      await rtnl.links.moveTo("mv0", other.name);
      expect(await rtnl.links.find("mv0")).toBeUndefined();
      expect((await there.links.get("mv0")).kind).toBe("ifb");
      for (let i = 0; i < 20; i++)
        await rtnl.links.add({ kind: "veth", name: `g${i}`, peer: { name: `h${i}` }, group: 42 });
      await rtnl.links.deleteGroup(42);
      expect((await rtnl.links.list()).filter((l) => l.name.startsWith("g"))).toEqual([]);
      const names = Array.from({ length: 50 }, (_, i) => `m${i}`);
      await Promise.all(names.map((n) => rtnl.links.add({ kind: "veth", name: n, peer: { name: `p${n}` } })));
      await rtnl.links.deleteMany([...names, "missing0"]);
      const left = (await netns.ipJson(["link", "show"])) as IpLink[];
      expect(left.map((l) => l.ifname).sort()).toEqual(["in0", "lo"]);
    } finally {
      rtnl.close();
      there.close();
      await other.remove();
    }
  });

  test("64-bit stats for all links in one dump match ip -s -j", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "veth", name: "a0", peer: { name: "a1" } });
      // No IPv6 on the pair: its router solicitations and MLD reports go out on their own time.
      for (const l of ["a0", "a1"]) await netns.exec("sysctl", ["-qw", `net.ipv6.conf.${l}.disable_ipv6=1`]);
      await rtnl.links.up("a0");
      await rtnl.links.up("a1");
      await rtnl.addresses.add("a0", "10.0.0.1/24");
      await rtnl.addresses.add("a1", "10.0.0.2/24");
      const ping = await netns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "1", "10.0.0.2"], {
        reject: false,
      });
      expect(ping.exitCode, String(ping.stdout)).toBe(0);
      // ARP requests nobody answers: a0 sends more than it receives, so tx and rx differ.
      await netns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "1", "10.0.0.3"], { reject: false });
      type Stats64 = {
        stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } };
      }[];
      const read = async () => ((await netns.ipJson(["-s", "link", "show", "a0"])) as Stats64)[0]?.stats64;
      // Counters only grow: ours, read between two reads by ip, must lie between them (and equal
      // them when nothing moved in between).
      const before = await read();
      const ours = (await rtnl.links.stats()).get("a0");
      const after = await read();
      for (const [dir, field] of [
        ["tx", "packets"],
        ["tx", "bytes"],
        ["rx", "packets"],
        ["rx", "bytes"],
      ] as const) {
        const got = ours?.[`${dir}${field === "packets" ? "Packets" : "Bytes"}`];
        expect(got, `${dir} ${field}`).toBeGreaterThanOrEqual(
          BigInt(before?.[dir][field] ?? Number.MAX_SAFE_INTEGER),
        );
        expect(got, `${dir} ${field}`).toBeLessThanOrEqual(BigInt(after?.[dir][field] ?? -1));
      }
      expect(Number(ours?.txPackets)).toBeGreaterThan(Number(ours?.rxPackets));
    } finally {
      rtnl.close();
    }
  });

  test("kernel refusals are NetlinkErrors naming the request, object and errno", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "ifb", name: "tap0" });
      const err = await rtnl.links.add({ kind: "ifb", name: "tap0" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).message).toBe('link add "tap0": EEXIST (File exists)');
      expect((err as NetlinkError).errno).toBe(17);
      await expect(rtnl.links.get("nosuch0")).rejects.toMatchObject({ code: "ENODEV" });
      // The kernel's extended ack is carried when it gives one.
      const bad = await rtnl.routes
        .add({ dst: "10.9.0.0/16", gateway: "10.0.0.1", dev: "tap0" })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(NetlinkError);
      expect((bad as NetlinkError).message).toMatch(/^route add "10.9.0.0\/16": E[A-Z]+ \(.*\)/);
    } finally {
      rtnl.close();
    }
  });

  test("bad input is a NetlinkInputError naming the field, and nothing is sent", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const cases: [() => Promise<unknown>, string][] = [
        [() => rtnl.links.add({ kind: "ifb", name: "a-name-too-long0" }), "link.name"],
        [() => rtnl.links.add({ kind: "ifb", name: "bad/name" }), "link.name"],
        [() => rtnl.links.add({ kind: "ifb", name: "has space" }), "link.name"],
        [() => rtnl.links.add({ kind: "ifb", name: "x0", mtu: 20 }), "link.mtu"],
        [() => rtnl.links.add({ kind: "ifb", name: "x0", mac: "zz:00:00:00:00:00" }), "link.mac"],
        [() => rtnl.links.add({ kind: "ifb", name: "x0", mac: "01:00:00:00:00:00" }), "link.mac"],
        [() => rtnl.links.add({ kind: "vlan", name: "x0", parent: "lo", id: 4095 }), "link.id"],
        [() => rtnl.links.add({ kind: "vxlan", name: "x0", vni: 1 << 24 }), "link.vni"],
        // @ts-expect-error: an unknown kind
        [() => rtnl.links.add({ kind: "nonsense", name: "x0" }), "link.kind"],
        [() => rtnl.addresses.add("lo", "10.0.0.1/33"), "address"],
        [() => rtnl.addresses.add("lo", "300.0.0.1/24"), "address"],
        [() => rtnl.routes.add({ dst: "10.0.0.0/8", gateway: "nope" }), "route.gateway"],
        [() => rtnl.neighbours.add("lo", { address: "10.0.0.1", mac: "1:2:3" }), "neighbour.mac"],
      ];
      for (const [call, field] of cases) {
        const e = await call().catch((x: unknown) => x);
        expect(e, field).toBeInstanceOf(NetlinkInputError);
        expect((e as NetlinkInputError).field).toBe(field);
      }
      expect((await netns.ipJson(["link", "show"])).length).toBe(1);
    } finally {
      rtnl.close();
    }
  });
});
