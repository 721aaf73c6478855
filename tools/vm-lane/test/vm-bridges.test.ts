// A real VM (Debian's kernel under qemu) on a Bridges tap on an OVS VLAN (private OVS, userspace
// datapath): it reaches a container on the same VLAN and does not reach one on another VLAN. The
// guest's eth0 is the persistent kernel TAP that Bridge.createTaps made, opened by qemu by name.
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { OvsSandbox } from "@vmnet/ovs";
import { Bridges } from "@vmnet/vmnet";
import { afterEach, expect, test } from "vitest";
import { bootGuest, guestReady } from "../src/index.mjs";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describePrivileged("a real VM on a Bridges tap", () => {
  if (!guestReady()) {
    console.log("SKIP a real VM on a Bridges tap: guest kernel not prepared (scripts/setup.sh prepares it)");
  }
  test.runIf(guestReady())(
    "reaches a container on its VLAN (10), not one on VLAN 20",
    { timeout: 600_000 },
    async () => {
      const sw: TestNetns = await createNetns("vmsw");
      cleanups.push(() => sw.remove());
      const ovs = await OvsSandbox.start({ netns: sw.name });
      cleanups.push(() => ovs.stop());
      const bridges = await Bridges.open({ db: ovs.remote, netns: sw.name, datapathType: "netdev" });
      cleanups.push(() => bridges.destroy().then(() => bridges.close()));
      const lab = await bridges.get("vmlab");
      const [tap] = await lab.createTaps([{ vlan: 10, mac: "52:54:00:12:34:56" }]);
      const same = await createNetns("vmc10");
      cleanups.push(() => same.remove());
      const other = await createNetns("vmc20");
      cleanups.push(() => other.remove());
      for (const ns of [same, other]) {
        await ns.exec("sysctl", ["-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
      }
      await lab.createContainerTap({
        netns: same.name,
        mac: "52:54:00:00:10:02",
        index: 0,
        vlan: 10,
        address: "10.61.0.2/24",
      });
      await lab.createContainerTap({
        netns: other.name,
        mac: "52:54:00:00:20:03",
        index: 0,
        vlan: 20,
        address: "10.61.0.3/24",
      });

      const r = await bootGuest({
        mode: "static",
        netns: sw.name,
        tapName: tap as string,
        mac: "52:54:00:12:34:56",
        address: "10.61.0.5/24",
        ping: ["10.61.0.2", "10.61.0.3"],
        timeoutMs: 480_000,
      });
      expect(r.exitCode, r.lines.slice(-30).join("\n")).toBe(0);
      expect(r.markers.get("ADDR")?.join("\n")).toContain("10.61.0.5/24");
      expect(r.markers.get("PING")).toEqual(["10.61.0.2 ok", "10.61.0.3 fail"]);
      // The switch learned the guest's MAC on the tap: the frames really crossed OVS.
      const fdb = await sw.exec("ovs-appctl", ["fdb/show", "vmlab"], {
        env: ovs.env,
        reject: false,
      });
      if (fdb.exitCode === 0) expect(fdb.stdout).toContain("52:54:00:12:34:56");
    },
  );
});
