// Links carry their ownership mark from the request that creates them; a crashed process's
// leftovers are found and reaped by mark; creation is a plan that undoes itself at every step;
// `netns` in a spec is validated before anything happens and acts in that netns.

import { createNetns } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { parseAttrs } from "../src/codec/attrs.js";
import * as C from "../src/codec/constants.js";
import { parseMessages } from "../src/codec/message.js";
import {
  formatOwnerMark,
  NetlinkError,
  NetlinkInputError,
  ownerMarkForThisProcess,
  processStartTicks,
  Rtnl,
  runPlan,
  StepError,
} from "../src/index.js";

/** Records every sendmsg() of the handle: the netlink messages in each datagram. */
function recordSends(rtnl: Rtnl): { type: number; flags: number; body: Buffer }[][] {
  const sends: { type: number; flags: number; body: Buffer }[][] = [];
  const socket = rtnl.connection.netlinkSocket;
  const send = socket.send.bind(socket);
  socket.send = (data: Buffer) => {
    sends.push(parseMessages(Buffer.from(data)).map((m) => ({ type: m.type, flags: m.flags, body: m.body })));
    return send(data);
  };
  return sends;
}

const aliasIn = (body: Buffer) =>
  parseAttrs(body.subarray(16))
    .find((a) => a.type === C.IFLA_IFALIAS)
    ?.data.toString();

interface IpLink {
  ifname: string;
  ifalias?: string;
}

describePrivileged("owned links", () => {
  test("a marked link gets its mark in the same sendmsg() as its create", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const sends = recordSends(rtnl);
      const link = await rtnl.links.add({
        kind: "veth",
        name: "m0",
        peer: { name: "m1" },
        mark: { owner: "t", role: "pair" },
      });
      const mark = formatOwnerMark(ownerMarkForThisProcess("t", "pair"));
      expect(link.alias).toBe(mark);
      const [ip] = (await netns.ipJson(["link", "show", "m0"])) as IpLink[];
      expect(ip?.ifalias).toBe(mark);
      // One datagram: the create (carrying IFLA_IFALIAS for kernels that take it there) and the
      // set by name that this kernel needs.
      const withCreate = sends.filter((s) =>
        s.some((m) => m.type === C.RTM_NEWLINK && m.flags & C.NLM_F_CREATE),
      );
      expect(withCreate).toHaveLength(1);
      const [create, set] = withCreate[0] ?? [];
      expect(create && aliasIn(create.body)).toBe(mark);
      expect(set?.type).toBe(C.RTM_NEWLINK);
      expect(set && set.flags & C.NLM_F_CREATE).toBe(0);
      expect(set && aliasIn(set.body)).toBe(mark);
      // A plain alias goes the same way.
      expect((await rtnl.links.add({ kind: "ifb", name: "i0", alias: "shaper" })).alias).toBe("shaper");
      await expect(
        rtnl.links.add({ kind: "ifb", name: "i1", alias: "x", mark: { owner: "t", role: "r" } }),
      ).rejects.toMatchObject({ field: "link.mark" });
    } finally {
      rtnl.close();
    }
  });

  test("addMany marks every link; one failure rolls all of them back", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const specs = Array.from({ length: 200 }, (_, i) => ({ kind: "ifb" as const, name: `b${i}` }));
      const made = await rtnl.links.addMany(specs, { mark: { owner: "bulk", role: "ifb" } });
      expect(made).toHaveLength(200);
      const ip = (await netns.ipJson(["link", "show"])) as IpLink[];
      const mark = formatOwnerMark(ownerMarkForThisProcess("bulk", "ifb"));
      expect(ip.filter((l) => l.ifname.startsWith("b")).map((l) => l.ifalias)).toEqual(Array(200).fill(mark));
      // A name that is taken makes the whole batch fail and leave nothing of its own.
      await rtnl.links.add({ kind: "ifb", name: "taken0" });
      const batch = [
        ...Array.from({ length: 50 }, (_, i) => ({ kind: "ifb" as const, name: `c${i}` })),
        { kind: "ifb" as const, name: "taken0" },
      ];
      const err = await rtnl.links
        .addMany(batch, { mark: { owner: "bulk", role: "ifb" } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).code).toBe("EEXIST");
      const after = ((await netns.ipJson(["link", "show"])) as IpLink[]).map((l) => l.ifname);
      expect(after.filter((n) => n.startsWith("c"))).toEqual([]);
      expect(after).toContain("taken0");
      // Bad input anywhere: nothing is sent at all.
      const bad = await rtnl.links
        .addMany([
          { kind: "ifb", name: "d0" },
          { kind: "ifb", name: "bad name" },
        ])
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(NetlinkInputError);
      expect((bad as NetlinkInputError).field).toBe("links.1.name");
      expect(await rtnl.links.find("d0")).toBeUndefined();
    } finally {
      rtnl.close();
    }
  });

  test("reapOrphans deletes a dead process's marked links in one request, and nothing else", async ({
    netns,
  }) => {
    // A process marks two links and exits (its pid is then dead): its leftovers.
    const script = [
      'start=$(cut -d" " -f22 /proc/$$/stat)',
      'ip link add o0 type ifb && ip link set o0 alias "vmnet:1 owner=lab pid=$$@$start role=ifb"',
      'ip link add o1 type veth peer name o1p && ip link set o1 alias "vmnet:1 owner=lab pid=$$@$start role=pair"',
      "echo $$",
    ].join("; ");
    const dead = Number(String((await netns.exec("sh", ["-c", script])).stdout).trim());
    expect(processStartTicks(dead)).toBeUndefined();
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      // Ours (alive), another owner's dead one, a foreign alias that looks almost like a mark,
      // and a link with no alias at all.
      await rtnl.links.add({ kind: "ifb", name: "mine0", mark: { owner: "lab", role: "ifb" } });
      await rtnl.links.add({
        kind: "ifb",
        name: "other0",
        alias: `vmnet:1 owner=else pid=${dead}@1 role=ifb`,
      });
      await rtnl.links.add({
        kind: "ifb",
        name: "foreign0",
        alias: `vmnet:1 owner=lab pid=${dead}@1 role=ifb extra`,
      });
      await rtnl.links.add({ kind: "ifb", name: "plain0" });
      const owned = await rtnl.links.findOwned({ owner: "lab" });
      expect(owned.map((o) => [o.name, o.alive]).sort()).toEqual([
        ["mine0", true],
        ["o0", false],
        ["o1", false],
      ]);
      expect((await rtnl.links.findOwned({ owner: "lab", role: "pair" })).map((o) => o.name)).toEqual(["o1"]);
      const sends = recordSends(rtnl);
      const reaped = await rtnl.links.reapOrphans({ owner: "lab" });
      expect(reaped.map((r) => r.name).sort()).toEqual(["o0", "o1"]);
      expect(reaped.every((r) => r.mark.pid === dead)).toBe(true);
      const deletes = sends.flat().filter((m) => m.type === C.RTM_DELLINK);
      expect(deletes).toHaveLength(1); // one group request
      const left = ((await netns.ipJson(["link", "show"])) as IpLink[]).map((l) => l.ifname).sort();
      expect(left).toEqual(["foreign0", "lo", "mine0", "other0", "plain0"]);
      // Without an owner filter, the other owner's orphan goes too; foreign text never does.
      expect((await rtnl.links.reapOrphans()).map((r) => r.name)).toEqual(["other0"]);
      expect(await rtnl.links.find("foreign0")).toBeDefined();
    } finally {
      rtnl.close();
    }
  });

  test("a fault at every step of a marked create leaves nothing behind", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "bridge", name: "br0" });
      const spec = {
        kind: "veth" as const,
        name: "f0",
        peer: { name: "f1" },
        master: "br0",
        mark: { owner: "t", role: "r" },
      };
      const steps = rtnl.links.planAdd(spec).steps.length;
      expect(steps).toBe(2);
      for (let at = 0; at < steps; at++) {
        const err = await rtnl.links
          .add(spec, {
            beforeStep: (_s, i) => {
              if (i === at) throw new Error(`fault at ${i}`);
            },
          })
          .catch((e: unknown) => e);
        expect(err, `fault at ${at}`).toBeInstanceOf(StepError);
        expect((err as StepError).index).toBe(at);
        expect((err as StepError).rolledBack).toBe(true);
        const names = ((await netns.ipJson(["link", "show"])) as IpLink[]).map((l) => l.ifname).sort();
        expect(names, `fault at ${at}`).toEqual(["br0", "lo"]);
      }
      // And a plan composed by a caller runs and undoes the same way.
      const plan = rtnl.links.planAdd(spec);
      const done = await runPlan(plan.steps);
      expect(plan.link?.alias).toBe(formatOwnerMark(ownerMarkForThisProcess("t", "r")));
      await done.undo();
      expect(await rtnl.links.find("f0")).toBeUndefined();
    } finally {
      rtnl.close();
    }
  });

  test("netns in a spec: validated first, created there with its alias, ensure looks there", async ({
    netns,
  }) => {
    const other = await createNetns();
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      // Bad alias with netns: an input error before anything is created, in either netns.
      const bad = await rtnl.links
        .add({ kind: "ifb", name: "n0", netns: other.name, alias: "x".repeat(300) })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(NetlinkInputError);
      expect((bad as NetlinkInputError).field).toBe("link.alias");
      expect((await other.ipJson(["link", "show"])).length).toBe(1);
      expect((await netns.ipJson(["link", "show"])).length).toBe(1);
      const made = await rtnl.links.add({
        kind: "ifb",
        name: "n0",
        netns: other.name,
        alias: "there",
        up: true,
      });
      expect(made).toMatchObject({ name: "n0", alias: "there", up: true });
      const [ip] = (await other.ipJson(["link", "show", "n0"])) as IpLink[];
      expect(ip?.ifalias).toBe("there");
      expect(made.index).toBe((ip as unknown as { ifindex: number }).ifindex);
      // ensure with netns is idempotent: the second call finds it there and changes only the mtu.
      const again = await rtnl.links.ensure({
        kind: "ifb",
        name: "n0",
        netns: other.name,
        alias: "there",
        mtu: 1400,
      });
      expect(again.index).toBe(made.index);
      expect(again).toMatchObject({ mtu: 1400, alias: "there" });
      const third = await rtnl.links.ensure({ kind: "ifb", name: "n0", netns: other.name });
      expect(third.index).toBe(made.index);
      expect((await other.ipJson(["link", "show"])).length).toBe(2);
      await expect(
        rtnl.links.ensure({ kind: "bridge", name: "n0", netns: other.name }),
      ).rejects.toMatchObject({
        code: "EEXIST",
      });
      expect(await rtnl.links.find("n0")).toBeUndefined();
    } finally {
      rtnl.close();
      await other.remove();
    }
  });
});
