// 802.1Q, gretap and geneve links, which the host kernel lacks, made by @vmnet/netlink-native in a full
// guest kernel, read back, and carrying real traffic.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ping, veth } from "./support.js";

describe("vlan, gretap and geneve links in a full kernel", () => {
  let pair: Awaited<ReturnType<typeof veth>>;
  beforeAll(async () => {
    pair = await veth();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("vlan: same VLAN id reaches, another id does not", async () => {
    await pair.rtnlA.links.add({ kind: "vlan", name: "va.10", parent: "va", id: 10, up: true });
    await pair.rtnlB.links.add({ kind: "vlan", name: "vb.10", parent: "vb", id: 10, up: true });
    await pair.rtnlB.links.add({ kind: "vlan", name: "vb.20", parent: "vb", id: 20, up: true });
    await pair.rtnlA.addresses.add("va.10", "10.88.10.1/24");
    await pair.rtnlB.addresses.add("vb.10", "10.88.10.2/24");
    await pair.rtnlA.links.add({ kind: "vlan", name: "va.30", parent: "va", id: 30, up: true });
    await pair.rtnlA.addresses.add("va.30", "10.88.20.1/24");
    await pair.rtnlB.addresses.add("vb.20", "10.88.20.2/24");
    const link = await pair.rtnlA.links.get("va.10");
    expect(link.kind).toBe("vlan");
    expect((await ping(pair.a, "10.88.10.2", 3, 0.2)).received).toBe(3);
    // 10.88.20.2 sits on VLAN 20 on b; a reaches that subnet on VLAN 30: nothing gets through.
    expect((await ping(pair.a, "10.88.20.2", 3, 0.2)).received).toBe(0);
  });

  it("gretap: an L2 tunnel with a key carries traffic between the hosts", async () => {
    await pair.rtnlA.links.add({
      kind: "gretap",
      name: "gta",
      local: pair.ipA,
      remote: pair.ipB,
      key: 42,
      up: true,
    });
    await pair.rtnlB.links.add({
      kind: "gretap",
      name: "gtb",
      local: pair.ipB,
      remote: pair.ipA,
      key: 42,
      up: true,
    });
    await pair.rtnlA.addresses.add("gta", "10.99.0.1/24");
    await pair.rtnlB.addresses.add("gtb", "10.99.0.2/24");
    const link = await pair.rtnlA.links.get("gta");
    expect(link.kind).toBe("gretap");
    expect((await ping(pair.a, "10.99.0.2", 3, 0.2)).received).toBe(3);
  });

  it("geneve: a VNI tunnel carries traffic and reads back its VNI and remote", async () => {
    await pair.rtnlA.links.add({ kind: "geneve", name: "gna", vni: 5001, remote: pair.ipB, up: true });
    await pair.rtnlB.links.add({ kind: "geneve", name: "gnb", vni: 5001, remote: pair.ipA, up: true });
    await pair.rtnlA.addresses.add("gna", "10.98.0.1/24");
    await pair.rtnlB.addresses.add("gnb", "10.98.0.2/24");
    const link = await pair.rtnlA.links.get("gna");
    expect(link.kind).toBe("geneve");
    expect(link.info).toMatchObject({ kind: "geneve", vni: 5001, remote: pair.ipB });
    expect((await ping(pair.a, "10.98.0.2", 3, 0.2)).received).toBe(3);
  });
});
