import { spawn } from "node:child_process";
import { readSync, writeSync } from "node:fs";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { NetlinkInputError, openTap, Rtnl } from "../src/index.js";

describePrivileged("TAP/TUN", () => {
  test("a tap opened in a netns lives there, with the flags asked for", async ({ netns }) => {
    const tap = await openTap({ name: "tap7", netns: netns.name, vnetHdr: true, queues: 4 });
    try {
      expect(tap.name).toBe("tap7");
      const [byIndex] = await netns.ipJson(["link", "show", "tap7"]);
      expect(tap.index).toBe(byIndex.ifindex);
      expect(tap.fds).toHaveLength(4);
      const [ip] = await netns.ipJson(["-d", "link", "show", "tap7"]);
      expect(ip.linkinfo.info_kind).toBe("tun");
      expect(ip.linkinfo.info_data).toMatchObject({
        type: "tap",
        pi: false,
        vnet_hdr: true,
        multi_queue: true,
        // four queues attached, one per fd
        numqueues: 4,
      });
    } finally {
      await tap.close();
    }
    // Not persistent: gone with its fds.
    expect(await netns.ipJson(["link", "show"])).toHaveLength(1);
  });

  test("persist, owner/group, tun mode, an auto-picked name; unpersist removes it", async ({ netns }) => {
    // Ids with no passwd/group entry, so iproute2 prints them as numbers.
    const tap = await openTap({ netns: netns.name, mode: "tun", persist: true, owner: 4242, group: 4343 });
    const name = tap.name;
    expect(name).toMatch(/^tun\d+$/);
    await tap.close();
    const [ip] = await netns.ipJson(["-d", "link", "show", name]);
    expect(ip.linkinfo.info_data).toMatchObject({ type: "tun", persist: true, user: 4242, group: 4343 });
    const again = await openTap({ name, netns: netns.name, mode: "tun" });
    again.unpersist();
    await again.close();
    expect(await netns.ipJson(["link", "show"])).toHaveLength(1);
  });

  test("persist() after the fact: a tap opened without it outlives its fds once persisted", async ({
    netns,
  }) => {
    const tap = await openTap({ name: "tapP", netns: netns.name });
    tap.persist();
    await tap.close();
    const [ip] = await netns.ipJson(["-d", "link", "show", "tapP"]);
    expect(ip.linkinfo.info_data).toMatchObject({ type: "tap", persist: true });
    expect(() => tap.persist()).toThrow(/closed/);
    const again = await openTap({ name: "tapP", netns: netns.name });
    again.unpersist();
    await again.close();
    expect(await netns.ipJson(["link", "show"])).toHaveLength(1);
  });

  test("frames written to the fd come out of the device, and the fd works in a child process", async ({
    netns,
  }) => {
    const tap = await openTap({ name: "tap0", netns: netns.name });
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.set("tap0", { up: true, mac: "02:00:00:00:00:01" });
      await rtnl.addresses.add("tap0", "10.0.0.1/24");
      await rtnl.neighbours.add("tap0", { address: "10.0.0.2", mac: "02:00:00:00:00:02" });
      // A ping from the netns arrives on our fd as an Ethernet frame (IFF_NO_PI: no header).
      const ping = netns.exec("ping", ["-c", "1", "-W", "1", "10.0.0.2"], { reject: false });
      const buf = Buffer.alloc(2048);
      let n = 0;
      for (let i = 0; i < 200 && n === 0; i++) {
        try {
          n = readSync(tap.fds[0] as number, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      await ping;
      expect(n).toBeGreaterThan(14);
      expect(buf.subarray(0, 6).toString("hex")).toMatch(/^(020000000002|ffffffffffff|3333)/);
      // A child inherits the fd (qemu -netdev tap,fd=3 style) and writes one frame through it.
      const before = (await rtnl.links.stats()).get("tap0")?.rxPackets ?? 0n;
      const frame = Buffer.alloc(60);
      Buffer.from("ffffffffffff020000000009", "hex").copy(frame, 0);
      frame.writeUInt16BE(0x88b5, 12);
      const child = spawn(
        process.execPath,
        ["-e", `require('fs').writeSync(3, Buffer.from('${frame.toString("hex")}','hex'))`],
        {
          stdio: ["ignore", "inherit", "inherit", tap.fds[0] as number],
        },
      );
      const code = await new Promise<number | null>((r) => child.on("exit", r));
      expect(code).toBe(0);
      writeSync(tap.fds[0] as number, frame);
      const after = (await rtnl.links.stats()).get("tap0")?.rxPackets ?? 0n;
      expect(after - before).toBe(2n);
    } finally {
      rtnl.close();
      await tap.close();
    }
  });

  test("bad options are typed errors; a taken name fails and leaves nothing", async ({ netns }) => {
    await expect(openTap({ name: "much-too-long-name" })).rejects.toThrow(NetlinkInputError);
    await expect(openTap({ queues: 0 })).rejects.toThrow(/tap.queues/);
    const rtnl = await Rtnl.open({ netns: netns.name });
    try {
      await rtnl.links.add({ kind: "ifb", name: "busy0" });
      await expect(openTap({ name: "busy0", netns: netns.name })).rejects.toThrow(/EINVAL|EBUSY|EEXIST/);
      expect((await rtnl.links.list()).map((l) => l.name).sort()).toEqual(["busy0", "lo"]);
    } finally {
      rtnl.close();
    }
  });
});
