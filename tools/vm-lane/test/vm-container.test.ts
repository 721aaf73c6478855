// A real VM (Debian's kernel under qemu, software emulation) booted on the TAP fd that
// setupContainerSideNetwork returned: the guest's udhcpc must get exactly the CNI result (address,
// mask, gateway, routes, MTU, DNS) from vmnet's DHCP server and ping the CNI gateway and beyond it;
// the guest prints VMNET-* markers on its serial console that the test asserts. Both wiring modes,
// with and without vnet_hdr; a ptp pod (a /32 with an on-link gateway); and a capture of the TAP
// by @vmnet/capture that tshark reads with the guest's DHCP exchange in it.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startCapture } from "@vmnet/capture";
import { describePrivileged } from "@vmnet/harness/vitest";
import { setupContainerSideNetwork } from "@vmnet/vmnet";
import { afterEach, expect, test } from "vitest";
import { makePod } from "../../../packages/vmnet/test/support/vm-side-pod.js";
import { bootGuest, guestReady } from "../src/index.mjs";

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function maskBits(mask: string): number {
  return mask.split(".").reduce((n, o) => n + (Number(o).toString(2).match(/1/g)?.length ?? 0), 0);
}

function lease(markers: Map<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of markers.get("LEASE") ?? []) {
    const i = l.indexOf("=");
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

const cases = [
  { plugin: "bridge", mode: "bridge", vnetHdr: false },
  { plugin: "bridge", mode: "tcfilter", vnetHdr: true },
  { plugin: "ptp", mode: "bridge", vnetHdr: true },
] as const;

describePrivileged("a real VM on a ContainerSideNetwork", () => {
  test.skipIf(!guestReady())(
    "guest assets (run `node tools/vm-lane/bin/vmnet-vm.mjs prepare`, scripts/setup.sh does)",
    () => {
      expect(guestReady()).toBe(true);
    },
  );
  if (!guestReady()) {
    console.log(
      "SKIP a real VM on a ContainerSideNetwork: guest kernel not prepared (scripts/setup.sh prepares it)",
    );
  }

  for (const c of cases) {
    test.runIf(guestReady())(
      `${c.plugin} pod, ${c.mode} mode, vnet_hdr ${c.vnetHdr ? "on" : "off"}: udhcpc in the guest gets exactly the CNI identity`,
      { timeout: 600_000 },
      async () => {
        const pod = await makePod(c.plugin);
        cleanups.push(() => pod.remove());
        const stateDir = await mkdtemp(join(tmpdir(), "vm-csn-"));
        cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
        const csn = await setupContainerSideNetwork({
          netns: pod.netns.name,
          result: pod.result,
          mode: c.mode,
          vnetHdr: c.vnetHdr,
          stateDir,
        });
        cleanups.push(() => csn.teardown());
        const iface = csn.interfaces[0];
        if (!iface) throw new Error("no interface");
        const cniIp = pod.result.ips.find((ip) => !ip.address.includes(":"));
        if (!cniIp) throw new Error("no IPv4 in the CNI result");
        const [address, prefix] = cniIp.address.split("/") as [string, string];

        const pcap = join(stateDir, "tap.pcap");
        const capture =
          c.mode === "bridge" && c.plugin === "bridge"
            ? await startCapture({
                netns: pod.netns.name,
                iface: iface.tap.name,
                file: pcap,
                filter: "udp port 67 or udp port 68",
              })
            : undefined;

        const r = await bootGuest({
          mode: "dhcp",
          tapFd: iface.tap.fds[0] as number,
          vnetHdr: c.vnetHdr,
          mac: iface.hardwareAddr,
          ping: [pod.gateway, pod.beyond],
          timeoutMs: 480_000,
        });
        const l = lease(r.markers);
        expect(r.exitCode, r.lines.slice(-40).join("\n")).toBe(0);
        expect(l.ip).toBe(address);
        expect(maskBits(l.subnet ?? "")).toBe(Number(prefix));
        expect(l.serverid).toBeDefined();
        expect(Number(l.mtu)).toBe(iface.mtu);
        // The default route arrives as the router (option 3), or inside option 121 (udhcpc's
        // "staticroutes") whenever 121 is sent, since clients then ignore option 3.
        if (l.staticroutes) expect(l.staticroutes).toContain(`0.0.0.0/0 ${pod.gateway}`);
        else expect(l.router).toBe(pod.gateway);
        expect(r.markers.get("ADDR")?.join("\n")).toContain(`${address}/${prefix}`);
        expect(r.markers.get("ROUTE")?.join("\n")).toContain(`default via ${pod.gateway}`);
        expect(r.markers.get("MTU")).toEqual([String(iface.mtu)]);
        expect(r.markers.get("PING")).toEqual([`${pod.gateway} ok`, `${pod.beyond} ok`]);

        if (capture) {
          await capture.stop();
          const out = await run("tshark", [
            "-r",
            pcap,
            "-Y",
            "dhcp",
            "-T",
            "fields",
            "-e",
            "dhcp.option.dhcp",
            "-e",
            "dhcp.ip.your",
          ]);
          const types = out.stdout
            .trim()
            .split("\n")
            .map((line) => line.split("\t")[0]);
          // DISCOVER(1), OFFER(2), REQUEST(3), ACK(5), in that order.
          expect(types).toEqual(["1", "2", "3", "5"]);
          expect(out.stdout).toContain(address);
        }
      },
    );
  }
});
