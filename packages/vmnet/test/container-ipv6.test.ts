// IPv6 for the VM in bridge and tc-filter modes, against real peers: a dual-stack pod from the real
// bridge + host-local plugins; dhcpcd in the "VM" netns gets exactly the CNI's IPv6 address by
// DHCPv6 and its on-link prefix and default router by router advertisements naming the real
// gateway's MAC (learned from the pod before wiring), then ping6 reaches the CNI gateway and a
// host beyond it; udhcpc gets the IPv4 identity at the same time; no DHCPv6 or router
// advertisement crosses the CNI interface (tcpdump); teardown restores the netns field by field
// (addresses, routes, sysctls).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { setupContainerSideNetwork } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { type Ipv6Rig, startDhcpcd6, vmIpv6 } from "./support/ipv6-peers.js";
import { startVmSide, waitForLinkLocal } from "./support/vm-side.js";
import { makePod, netnsState } from "./support/vm-side-pod.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * tcpdump listing the VM's DHCPv6 and router solicitations (source: the VM's MAC) and any router
 * advertisement or DHCPv6 reply toward it, on a device of the pod. The pod's own stack may
 * solicit a router on its link (its MAC changed): that is not the VM's and is not counted.
 */
async function ndWatch(
  netns: TestNetns,
  dev: string,
  vmMac: string,
  solicitations: boolean,
): Promise<() => Promise<string[]>> {
  const rs = solicitations ? " or (icmp6 and ip6[40] == 133)" : "";
  const child: ChildProcess = spawn(
    "ip",
    [
      "netns",
      "exec",
      netns.name,
      "tcpdump",
      "-i",
      dev,
      "-nn",
      "-e",
      "-l",
      `(ether src ${vmMac} and ((udp and port 547)${rs})) or (ether dst ${vmMac} and ((udp and port 546) or (icmp6 and ip6[40] == 134)))`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  child.stdout?.on("data", (d: Buffer) => {
    lines.push(
      ...d
        .toString()
        .split("\n")
        .filter((l) => l.trim()),
    );
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      if (d.toString().includes("listening on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`tcpdump exited with ${code}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await gone;
    }
    return lines;
  };
  cleanups.push(async () => {
    await stop();
  });
  return stop;
}

async function ping(netns: TestNetns, address: string): Promise<void> {
  const r = await netns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", address], { reject: false });
  expect(r.exitCode, `ping ${address}: ${r.stdout}`).toBe(0);
}

describePrivileged("ContainerSideNetwork: IPv6 for the VM (DHCPv6 + router advertisements)", () => {
  for (const mode of ["bridge", "tcfilter"] as const) {
    test(`${mode} mode: dhcpcd gets the CNI's IPv6 address and default router, ping6 through the gateway; udhcpc the IPv4`, async () => {
      const p = await makePod("bridge-dual");
      cleanups.push(() => p.remove());
      const dir = await mkdtemp(join(tmpdir(), "csn-v6-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const ip6 = p.result.ips.find((x) => x.address.includes(":"));
      const [address6] = (ip6?.address ?? "").split("/");
      const gateway6 = ip6?.gateway as string;
      const before = await netnsState(p.netns);
      const csn = await setupContainerSideNetwork({
        netns: p.netns.name,
        result: p.result,
        mode,
        stateDir: dir,
      });
      cleanups.push(() => csn.teardown());
      expect(csn.dhcp6?.duid).toMatch(/^[0-9a-f]+$/);
      expect(csn.routerAdvertiser).toBeDefined();
      const nic = csn.interfaces[0];
      // In tc-filter mode the VM shares the CNI interface's MAC and link-local address, so a router
      // solicitation the pod's own stack sends on it cannot be told from the VM's: there the
      // check covers DHCPv6 both ways and router advertisements toward the VM.
      const onCni = await ndWatch(p.netns, p.ifname, nic?.hardwareAddr as string, mode === "bridge");
      const side = await startVmSide(nic?.tap.fds[0] as number, nic?.hardwareAddr as string, { ipv6: true });
      cleanups.push(() => side.stop());
      const rig = { vm: side.vm, vmIf: side.iface } as Ipv6Rig;
      await waitForLinkLocal(side);
      const dhcpcd = await startDhcpcd6(rig);
      cleanups.push(() => dhcpcd.stop());
      let got = await vmIpv6(rig);
      const ready = () =>
        got.addresses.includes(`${address6}/128`) &&
        got.routes.some((r) => r.startsWith("default via fe80:"));
      for (let i = 0; i < 100 && !ready(); i++) {
        await new Promise((r) => setTimeout(r, 200));
        got = await vmIpv6(rig);
      }
      const vmAddrs = String((await side.vm.exec("ip", ["-6", "addr", "show", "dev", side.iface])).stdout);
      expect(got.addresses, `${await dhcpcd.log()}\n${vmAddrs}`).toEqual([`${address6}/128`]);
      expect(got.routes).toContain(`${(ip6?.address ?? "").replace(/::\d+\//, "::/")}`);
      expect(got.routes.filter((r) => r.startsWith("default via fe80:"))).toHaveLength(1);
      await ping(side.vm, gateway6);
      await ping(side.vm, p.beyond6 as string);
      // IPv4 at the same time, from the same TAP.
      const run = await (await startUdhcpc(side.vm, side.iface)).done();
      expect(run.exitCode, run.stderr).toBe(0);
      const got4 = await installed(side.vm, side.iface);
      expect(got4.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
        p.result.ips.find((x) => !x.address.includes(":"))?.address,
      ]);
      await ping(side.vm, p.beyond);
      const crossed = await onCni();
      expect(crossed, `no DHCPv6 or RS/RA on ${p.ifname}: ${crossed.join(" | ")}`).toEqual([]);
      await dhcpcd.stop();
      await side.stop();
      await csn.teardown();
      expect(await netnsState(p.netns)).toEqual(before);
    });
  }
});
