// Helpers other packages build on: many names resolved in one batch of ioctl lookups on libuv's
// pool (no link dump unless an altname is too long for the ioctl), and one rtnetlink connection
// shared by several handles in the same netns.
import { readdirSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import * as C from "../src/codec/constants.js";
import { parseMessages } from "../src/codec/message.js";
import { NetlinkError, NetlinkInputError, Rtnl, requests } from "../src/index.js";

/** Counts every netlink message the handle's socket sends, by type. */
function countSends(rtnl: Rtnl): Map<number, number> {
  const counts = new Map<number, number>();
  const socket = rtnl.connection.netlinkSocket;
  const send = socket.send.bind(socket);
  socket.send = (data: Buffer) => {
    for (const m of parseMessages(data)) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    return send(data);
  };
  return counts;
}

describePrivileged("links.resolve and a shared connection", () => {
  test("300 names, altnames and indexes resolve in one lookup batch; a long altname costs one link dump", async ({
    netns,
  }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const names = Array.from({ length: 300 }, (_, i) => `r${i}`);
      await Promise.all(names.map((name) => rtnl.links.add({ kind: "ifb", name })));
      await rtnl.links.addAltName("r7", "an-alternative-name-longer-than-ifnamsiz");
      await rtnl.links.addAltName("r8", "short-alt");
      const theirs = new Map(
        ((await netns.ipJson(["link", "show"])) as { ifname: string; ifindex: number }[]).map((l) => [
          l.ifname,
          l.ifindex,
        ]),
      );
      const counts = countSends(rtnl);
      const conn = rtnl.connection;
      const lookup = conn.linkIndexes.bind(conn);
      let lookups = 0;
      conn.linkIndexes = (refs, context) => {
        lookups++;
        return lookup(refs, context);
      };
      const got = await rtnl.links.resolve([
        ...names,
        "an-alternative-name-longer-than-ifnamsiz",
        "short-alt",
        1,
      ]);
      expect(lookups).toBe(1);
      expect(counts.get(C.RTM_GETLINK)).toBe(1); // the dump, for the 40-byte altname only
      expect([...counts.keys()]).toEqual([C.RTM_GETLINK]);
      for (const n of names) expect(got.get(n), n).toBe(theirs.get(n));
      expect(got.get("an-alternative-name-longer-than-ifnamsiz")).toBe(theirs.get("r7"));
      expect(got.get("short-alt")).toBe(theirs.get("r8"));
      expect(got.get(1)).toBe(1);
      expect(got.size).toBe(303);
      // Names and indexes the ioctl can answer: no netlink message at all.
      const again = await rtnl.links.resolve([...names.slice(0, 50), "short-alt", 1]);
      expect(lookups).toBe(2);
      expect(counts.get(C.RTM_GETLINK)).toBe(1);
      expect(again.get("r49")).toBe(theirs.get("r49"));
      const missing = await rtnl.links.resolve(["r1", "nosuch0", 99999]).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(NetlinkError);
      expect(missing).toMatchObject({ code: "ENODEV", request: { object: "nosuch0, 99999" } });
      expect(await rtnl.links.resolve([])).toEqual(new Map());
      const bad = await rtnl.links.resolve(["ok0", "bad/name"]).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(NetlinkInputError);
      expect((bad as NetlinkInputError).field).toBe("links.1");
    } finally {
      rtnl.close();
    }
  });

  test("rtnl.connection is the handle's own socket: sharing it opens no second fd", async ({ netns }) => {
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      const fds = readdirSync("/proc/self/fd").length;
      const conn = rtnl.connection;
      expect(conn).toBe(rtnl.connection);
      expect(conn.portId).toBe(rtnl.portId);
      await rtnl.links.add({ kind: "ifb", name: "sh0" });
      const req = requests.linkGet("sh0");
      const msgs = await conn.request(req.type, req.flags, req.body, { op: "link get", object: "sh0" });
      expect(msgs.filter((m) => m.type === C.RTM_NEWLINK)).toHaveLength(1);
      expect(readdirSync("/proc/self/fd").length).toBe(fds);
      rtnl.close();
      await expect(conn.request(req.type, req.flags, req.body, { op: "link get" })).rejects.toThrow(/closed/);
    } finally {
      rtnl.close();
    }
  });
});
