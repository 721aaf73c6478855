// The tc kinds the host kernel lacks (sfq, fq_codel, matchall, the police, vlan and sample
// actions), applied by @vmnet/tc-qos in a full guest kernel: read back, and where traffic can show
// it, measured: the police holds a UDP flood to its rate; vlan push on egress + pop on ingress
// carries a ping to the peer's VLAN 100 sub-interface.
import { Tc } from "@vmnet/tc-qos";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ping, run, udpArrivedBps, veth } from "./support.js";

/** The filter that holds actions: a dump also lists each prio's head, which has none. */
async function withActions(tc: Tc, link: string, parent: string) {
  const all = await tc.filters.list(link, parent);
  return all.find((f) => (f.options as { actions?: unknown[] } | undefined)?.actions?.length);
}

describe("tc kinds in a full kernel", () => {
  let pair: Awaited<ReturnType<typeof veth>>;
  let tcA: Tc;
  let tcB: Tc;
  beforeAll(async () => {
    pair = await veth();
    tcA = await Tc.open({ rtnl: pair.rtnlA });
    tcB = await Tc.open({ rtnl: pair.rtnlB });
  });
  afterEach(async () => {
    for (const [tc, link] of [
      [tcA, "va"],
      [tcB, "vb"],
    ] as const) {
      for (const kind of ["ingress", "clsact"] as const)
        await tc.qdiscs.delete(link, { kind }).catch(() => {});
      await tc.qdiscs.delete(link).catch(() => {});
    }
  });
  afterAll(async () => {
    tcA?.close();
    tcB?.close();
    await pair?.close();
  });

  it("sfq and fq_codel: applied at the root and read back", async () => {
    await tcA.qdiscs.add("va", { kind: "sfq", handle: "1:", perturb: 10, limit: 100 });
    let q = await tcA.qdiscs.get("va");
    expect(q?.kind).toBe("sfq");
    expect(q?.options).toMatchObject({ perturb: 10, limit: 100 });
    // A different kind under the same handle is refused by the kernel ("Invalid qdisc name"), as
    // with tc: delete, then add.
    await tcA.qdiscs.delete("va");
    await tcA.qdiscs.add("va", {
      kind: "fq_codel",
      handle: "1:",
      target: "5ms",
      interval: "100ms",
      ecn: true,
    });
    q = await tcA.qdiscs.get("va");
    expect(q?.kind).toBe("fq_codel");
    // The kernel keeps codel times in 1024 ns units: 5 ms reads back as 4999 µs.
    const o = q?.options as { target: number; interval: number; ecn: boolean };
    expect(o.ecn).toBe(true);
    expect(Math.abs(o.target - 5000)).toBeLessThanOrEqual(2);
    expect(Math.abs(o.interval - 100_000)).toBeLessThanOrEqual(100);
    expect((await ping(pair.a, pair.ipB, 3, 0.2)).received).toBe(3);
  });

  it("matchall + police: a 8 Mbit/s UDP flood arrives at the policed 2 Mbit/s (±25 %)", async () => {
    await tcB.qdiscs.add("vb", { kind: "ingress" });
    await tcB.filters.add("vb", {
      kind: "matchall",
      parent: "ffff:",
      actions: [{ kind: "police", rate: "2mbit", burst: "20k", exceed: "drop" }],
    });
    const f = await withActions(tcB, "vb", "ffff:");
    expect(f).toMatchObject({ kind: "matchall", options: { actions: [{ kind: "police", rate: 250_000 }] } });
    const arrived = await udpArrivedBps(pair, 8e6);
    expect(arrived).toBeGreaterThan(2e6 * 0.75);
    expect(arrived).toBeLessThan(2e6 * 1.25);
  });

  it("vlan push (egress) and pop (ingress) on matchall carry a ping to the peer's VLAN 100", async () => {
    await pair.rtnlB.links.add({ kind: "vlan", name: "vb.100", parent: "vb", id: 100, up: true });
    await pair.rtnlB.addresses.add("vb.100", "10.97.0.2/24");
    await pair.rtnlA.addresses.add("va", "10.97.0.1/24");
    // Without the actions a's untagged frames never reach vb.100.
    expect((await ping(pair.a, "10.97.0.2", 2, 0.2)).received).toBe(0);
    await tcA.qdiscs.add("va", { kind: "clsact" });
    await tcA.filters.add("va", {
      kind: "matchall",
      parent: "egress",
      actions: [{ kind: "vlan", action: "push", id: 100 }],
    });
    await tcA.filters.add("va", {
      kind: "matchall",
      parent: "ingress",
      actions: [{ kind: "vlan", action: "pop" }],
    });
    const egress = await withActions(tcA, "va", "egress");
    expect(egress).toMatchObject({
      kind: "matchall",
      options: { actions: [{ kind: "vlan", action: "push", id: 100 }] },
    });
    // The failed resolution above left a FAILED neighbour entry: start clean.
    await run("ip", ["-n", pair.a, "neigh", "flush", "dev", "va"]);
    // Tagged by the egress action, untagged again by the ingress one: the ping crosses VLAN 100
    // (the first echo may wait for ARP, itself tagged and untagged the same way).
    expect((await ping(pair.a, "10.97.0.2", 5, 0.2)).received).toBeGreaterThanOrEqual(4);
  });

  it("sample: a matchall sample action is applied and read back", async () => {
    await tcA.qdiscs.add("va", { kind: "ingress" });
    await tcA.filters.add("va", {
      kind: "matchall",
      parent: "ffff:",
      actions: [{ kind: "sample", rate: 10, group: 1, trunc: 128 }],
    });
    const f = await withActions(tcA, "va", "ffff:");
    expect(f).toMatchObject({
      kind: "matchall",
      options: { actions: [{ kind: "sample", rate: 10, group: 1, trunc: 128 }] },
    });
  });
});
