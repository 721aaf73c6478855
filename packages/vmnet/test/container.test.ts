// ContainerSideNetwork against real peers: pods made by the real CNI plugins, a VM side played by
// a frame relay on the TAP fd, real DHCP clients (busybox udhcpc, dhcpcd) in the VM netns, ping
// through the CNI gateway and beyond it, and the pod's netns compared field by field after
// teardown.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterEach, expect, test } from "vitest";
import { type ContainerSideNetwork, setupContainerSideNetwork, type WiringMode } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { runDhcpcd, startVmSide, type VmSide } from "./support/vm-side.js";
import { makePod, netnsState, type PluginKind, type Pod } from "./support/vm-side-pod.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "csn-state-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function pod(kind: PluginKind, options: { mtu?: number } = {}): Promise<Pod> {
  const p = await makePod(kind, options);
  cleanups.push(() => p.remove());
  return p;
}

async function setup(p: Pod, mode: WiringMode, extra: { mtu?: number } = {}): Promise<ContainerSideNetwork> {
  const csn = await setupContainerSideNetwork({
    netns: p.netns.name,
    result: p.result,
    mode,
    stateDir: await stateDir(),
    ...extra,
  });
  cleanups.push(() => csn.teardown());
  return csn;
}

async function vmSide(csn: ContainerSideNetwork, i = 0): Promise<VmSide> {
  const iface = csn.interfaces[i];
  if (!iface) throw new Error("no interface");
  const side = await startVmSide(iface.tap.fds[0] as number, iface.hardwareAddr);
  cleanups.push(() => side.stop());
  return side;
}

async function ping(side: VmSide, address: string): Promise<void> {
  const r = await side.vm.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", address], { reject: false });
  expect(r.exitCode, `ping ${address} from the VM: ${r.stdout}`).toBe(0);
}

const v4 = (p: Pod) => {
  const ip = p.result.ips.find((x) => !x.address.includes(":"));
  if (!ip) throw new Error("no IPv4");
  return ip;
};

describePrivileged("ContainerSideNetwork with real CNI plugins and DHCP clients", () => {
  for (const mode of ["bridge", "tcfilter"] as const) {
    test(`${mode} mode, bridge + host-local: udhcpc gets the CNI identity, pings gateway and beyond; teardown restores`, async () => {
      const p = await pod("bridge");
      const before = await netnsState(p.netns);
      const csn = await setup(p, mode);
      expect(csn.interfaces).toHaveLength(1);
      const iface = csn.interfaces[0];
      const eth0 = before.links.find((l) => l.name === "eth0");
      expect(iface?.hardwareAddr).toBe(eth0?.mac);
      expect(iface?.mtu).toBe(1500);
      expect(iface?.tap.name).toBe("tap0");
      const during = await netnsState(p.netns);
      // The identity left eth0.
      expect(during.addresses.filter((a) => a.startsWith("eth0 "))).toEqual([]);
      if (mode === "bridge") {
        expect(during.links.find((l) => l.name === "eth0")?.mac).not.toBe(eth0?.mac);
        expect(during.links.find((l) => l.name === "eth0")?.master).toBe("br0");
        expect(during.links.find((l) => l.name === "tap0")?.master).toBe("br0");
        expect(during.addresses).toContain("br0 inet 169.254.254.2/24 scope global brd -");
        expect(during.nft).toContain("udp dport 67-68 drop");
      } else {
        expect(during.links.find((l) => l.name === "tap0")?.mac).toBe(eth0?.mac);
        expect(during.tc).toContain("qdisc ingress ffff: dev eth0");
      }

      const side = await vmSide(csn);
      const client = await startUdhcpc(side.vm, side.iface);
      const run = await client.done();
      expect(run.exitCode, run.stderr).toBe(0);
      const got = await installed(side.vm, side.iface);
      const [address, prefix] = v4(p).address.split("/");
      expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${address}/${prefix}`]);
      expect(got.routes).toContain(`default via ${v4(p).gateway}`);
      expect(got.mtu).toBe(1500);
      await ping(side, p.gateway);
      await ping(side, p.beyond);

      await side.stop();
      await csn.teardown();
      expect(await netnsState(p.netns)).toEqual(before);
      // Idempotent.
      await csn.teardown();
    });
  }
});
