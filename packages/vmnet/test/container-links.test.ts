// Virtlet's link helpers, each working in the netns it is given: extractLinkInfo / stripLink /
// configureLink round-trip IPv4 and IPv6; veths (also the escape pair) across namespaces; a
// bridge built and torn down (and a foreign one refused); a marked TAP.

import { createNetns } from "@vmnet/harness";
import { describePrivileged, netnsTest as test } from "@vmnet/harness/vitest";
import { expect } from "vitest";
import { VmnetError, VmnetInputError } from "../src/errors.js";
import {
  configureLink,
  createEscapeVethPair,
  extractLinkInfo,
  findVeth,
  openTap,
  randomVethName,
  setupBridge,
  setupVeth,
  stripLink,
  teardownBridge,
} from "../src/index.js";
import { netnsState } from "./support/vm-side-pod.js";

describePrivileged("ContainerSideNetwork link helpers", () => {
  test("extractLinkInfo, stripLink and configureLink round-trip IPv4 and IPv6", async ({ netns }) => {
    const peer = await createNetns("csnpeer");
    try {
      const { link } = await setupVeth(netns.name, {
        name: "eth0",
        peerName: "p0",
        peerNetns: peer.name,
        mtu: 1400,
      });
      expect(link.mtu).toBe(1400);
      await netns.exec("ip", ["addr", "add", "10.5.0.2/24", "dev", "eth0"]);
      await netns.exec("ip", ["addr", "add", "10.5.0.3/24", "dev", "eth0"]);
      await netns.exec("ip", ["addr", "add", "fd00:5::2/64", "dev", "eth0", "nodad"]);
      await netns.exec("ip", ["route", "add", "default", "via", "10.5.0.1"]);
      await netns.exec("ip", ["route", "add", "10.9.0.0/16", "via", "10.5.0.1", "metric", "50"]);
      await netns.exec("ip", ["-6", "route", "add", "default", "via", "fd00:5::1"]);
      const before = await netnsState(netns);
      const info = await extractLinkInfo(netns.name, "eth0");
      expect(info.addresses.map((a) => a.cidr)).toEqual(["10.5.0.2/24", "10.5.0.3/24", "fd00:5::2/64"]);
      expect(info.routes.map((r) => `${r.dst} via ${r.gateway}`).sort()).toEqual(
        ["0.0.0.0/0 via 10.5.0.1", "10.9.0.0/16 via 10.5.0.1", "::/0 via fd00:5::1"].sort(),
      );
      await stripLink(netns.name, info);
      const stripped = await netnsState(netns);
      expect(stripped.addresses.filter((a) => a.startsWith("eth0 "))).toEqual([]);
      expect(stripped.routes.filter((r) => !r.includes('"proto":"kernel"'))).toEqual([]);
      await stripLink(netns.name, info); // idempotent
      await configureLink(netns.name, info);
      expect(await netnsState(netns)).toEqual(before);
      await configureLink(netns.name, info); // idempotent
      expect(await netnsState(netns)).toEqual(before);
      expect((await findVeth(netns.name)).name).toBe("eth0");
    } finally {
      await peer.remove();
    }
  });

  test("veths across namespaces, the escape pair, a bridge and a TAP, all marked", async ({ netns }) => {
    const host = await createNetns("csnhost");
    try {
      expect(randomVethName()).toMatch(/^veth[0-9a-f]{8}$/);
      const escapePair = await createEscapeVethPair(netns.name, { hostNetns: host.name, mtu: 1450 });
      expect(escapePair.link.alias).toMatch(/^vmnet:1 owner=vmnet pid=\d+@\d+ role=veth$/);
      expect(escapePair.peer.alias).toBe(escapePair.link.alias);
      expect((await host.ipJson(["link", "show", escapePair.peer.name]))[0].mtu).toBe(1450);
      const tap = await openTap(netns.name, { name: "tap9", mtu: 1450 });
      try {
        const br = await setupBridge(netns.name, {
          name: "br9",
          links: ["tap9", escapePair.link.name],
          address: "169.254.254.2/24",
        });
        expect(br.alias).toMatch(/role=bridge$/);
        const [d] = await netns.ipJson(["-d", "link", "show", "br9"]);
        expect(d.linkinfo.info_data.ageing_time).toBe(0);
        expect(d.txqlen).toBe(1000);
        expect(d.mtu).toBe(1450);
        expect((await netns.ipJson(["link", "show", "tap9"]))[0].master).toBe("br9");
        await teardownBridge(netns.name, "br9");
        expect(await netns.ipJson(["link", "show", "type", "bridge"])).toEqual([]);
        expect((await netns.ipJson(["link", "show", "tap9"]))[0].master).toBeUndefined();
        await netns.exec("ip", ["link", "add", "foreign0", "type", "bridge"]);
        await expect(teardownBridge(netns.name, "foreign0")).rejects.toBeInstanceOf(VmnetError);
        expect(await netns.ipJson(["link", "show", "foreign0"])).toHaveLength(1);
        await expect(findVeth(netns.name)).resolves.toMatchObject({ name: escapePair.link.name });
      } finally {
        tap.close();
        await netns.exec("ip", ["link", "del", "tap9"], { reject: false });
      }
      await expect(openTap(netns.name, { name: "a-name-over-15-bytes" })).rejects.toBeInstanceOf(
        VmnetInputError,
      );
      await expect(extractLinkInfo("csn-no-such-netns", "eth0")).rejects.toBeInstanceOf(VmnetInputError);
    } finally {
      await host.remove();
    }
  });
});
