// Masquerade mode (KubeVirt's default binding) against real peers: a pod made by the real CNI
// bridge plugin keeps its identity; the VM (a relay on the TAP fd into a "VM" netns) gets the
// private lease from busybox udhcpc; it reaches a host beyond the pod through NAT (the far host
// sees the pod's address); forwarded TCP and UDP ports on the pod's address reach servers in the
// VM, from beyond the pod and from inside it; teardown restores the netns field by field
// (links, addresses, routes, nftables, qdiscs, forwarding/accept_ra/disable_ipv6 sysctls).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { VmnetInputError } from "../src/errors.js";
import { type ContainerSideNetwork, setupContainerSideNetwork } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { type Ipv6Rig, startDhcpcd6, vmIpv6 } from "./support/ipv6-peers.js";
import { startVmSide, type VmSide, waitForLinkLocal } from "./support/vm-side.js";
import { makePod, netnsState } from "./support/vm-side-pod.js";
import { ask, startServer } from "./support/vm-side-sockets.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "csn-masq-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function vmSide(csn: ContainerSideNetwork, options: { ipv6?: boolean } = {}): Promise<VmSide> {
  const iface = csn.interfaces[0];
  if (!iface) throw new Error("no interface");
  const side = await startVmSide(iface.tap.fds[0] as number, iface.hardwareAddr, options);
  cleanups.push(() => side.stop());
  return side;
}

async function udhcpcLease(side: VmSide) {
  const handle = await startUdhcpc(side.vm, side.iface);
  const run = await handle.done();
  expect(run.exitCode, run.stderr).toBe(0);
  const bound = run.events.find((e) => e.event === "bound");
  return { got: await installed(side.vm, side.iface), dns: (bound?.env.dns ?? "").trim().split(/\s+/) };
}

async function ping(netns: TestNetns, address: string): Promise<void> {
  const r = await netns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", address], { reject: false });
  expect(r.exitCode, `ping ${address} from ${netns.name}: ${r.stdout}`).toBe(0);
}

const DNS = { nameservers: ["10.96.0.10"], search: ["pod.example"] };

describePrivileged("ContainerSideNetwork masquerade mode", () => {
  test("IPv4: private lease by DHCP, NAT to a host beyond the pod, forwarded TCP/UDP ports, exact restore", async () => {
    const p = await makePod("bridge");
    cleanups.push(() => p.remove());
    const far = p.beyondNetns as TestNetns;
    const podAddress = (p.result.ips[0]?.address ?? "").split("/")[0] as string;
    const before = await netnsState(p.netns);
    const csn = await setupContainerSideNetwork({
      netns: p.netns.name,
      result: { ...p.result, dns: DNS },
      mode: "masquerade",
      masquerade: {
        forwardPorts: [
          { protocol: "tcp", port: 8080, vmPort: 80 },
          { protocol: "udp", port: 5353 },
        ],
      },
      stateDir: await stateDir(),
    });
    cleanups.push(() => csn.teardown());
    expect(csn.mode).toBe("masquerade");
    const [nic] = csn.interfaces;
    expect(nic).toMatchObject({ name: "eth0", bridge: "br0", tap: { name: "tap0" } });
    expect(nic?.hardwareAddr).toBe(before.links.find((l) => l.name === "eth0")?.mac);

    // The pod keeps its identity; the bridge holds the VM's gateway; NAT and forwarding are on.
    const during = await netnsState(p.netns);
    expect(during.addresses.filter((a) => a.startsWith("eth0 "))).toEqual(
      before.addresses.filter((a) => a.startsWith("eth0 ")),
    );
    expect(during.links.find((l) => l.name === "eth0")).toEqual(before.links.find((l) => l.name === "eth0"));
    expect(during.addresses).toContain("br0 inet 10.0.2.1/24 scope global brd -");
    expect(during.links.find((l) => l.name === "tap0")?.master).toBe("br0");
    expect(during.nft).toMatch(
      /table inet vmnet_masq \{\n\s+comment "vmnet:1 owner=vmnet pid=\d+@\d+ role=csn"/,
    );
    expect(during.nft).toContain('oifname "eth0" ip saddr 10.0.2.0/24 masquerade');
    expect(during.nft).toContain('iifname "eth0" tcp dport 8080 dnat ip to 10.0.2.2:80');
    expect(during.nft).toContain('iifname "eth0" udp dport 5353 dnat ip to 10.0.2.2:5353');
    expect(during.nft).toContain(`ip daddr ${podAddress} tcp dport 8080 dnat ip to 10.0.2.2:80`);
    expect(during.sysctls).toContain("/proc/sys/net/ipv4/conf/eth0/forwarding=1");
    expect(during.sysctls).toContain("/proc/sys/net/ipv4/conf/br0/forwarding=1");

    // The VM gets the private lease: address, gateway (the bridge), the pod's DNS.
    const side = await vmSide(csn);
    const { got, dns } = await udhcpcLease(side);
    expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.0.2.2/24"]);
    expect(got.routes.filter((r) => r.startsWith("default via 10.0.2.1"))).toHaveLength(1);
    expect(dns).toEqual(DNS.nameservers);
    await ping(side.vm, "10.0.2.1");
    await ping(side.vm, p.gateway);
    await ping(side.vm, p.beyond);

    // Outbound: the far host sees the pod's address, not the VM's.
    const farServer = await startServer(far, "tcp", 9000, "far");
    cleanups.push(() => farServer.stop());
    expect(await ask(side.vm, "tcp", p.beyond, 9000)).toBe(`hello from far to ${podAddress}`);
    expect(farServer.peers).toEqual([podAddress]);

    // Inbound: forwarded ports on the pod's address reach the VM; the VM sees the real client.
    const vmTcp = await startServer(side.vm, "tcp", 80, "vm");
    const vmUdp = await startServer(side.vm, "udp", 5353, "vm");
    cleanups.push(
      () => vmTcp.stop(),
      () => vmUdp.stop(),
    );
    expect(await ask(far, "tcp", podAddress, 8080)).toBe(`hello from vm to ${p.beyond}`);
    expect(await ask(far, "udp", podAddress, 5353)).toBe(`hello from vm to ${p.beyond}`);
    // A port that is not forwarded does not reach the VM.
    expect(await ask(far, "tcp", podAddress, 80)).toMatch(/^error/);
    // From inside the pod, the pod's own address and port reach the VM too.
    expect(await ask(p.netns, "tcp", podAddress, 8080)).toBe(`hello from vm to ${podAddress}`);
    expect(vmTcp.peers).toEqual([p.beyond, podAddress]);

    await side.stop();
    await csn.teardown();
    expect(await netnsState(p.netns)).toEqual(before);
    await csn.teardown(); // idempotent
    expect(await netnsState(p.netns)).toEqual(before);
  });

  test("IPv6 (dual stack): dhcpcd gets fd10:0:2::2 by DHCPv6 and its /120 and router by RA, NAT66 to a host beyond, forwarded port over IPv6, exact restore", async () => {
    const p = await makePod("bridge-dual");
    cleanups.push(() => p.remove());
    const far = p.beyondNetns as TestNetns;
    const far6 = p.beyond6 as string;
    const pod6 = (p.result.ips.find((ip) => ip.address.includes(":"))?.address ?? "").split("/")[0] as string;
    expect(pod6).toMatch(/^fd00:c5:/);
    const before = await netnsState(p.netns);
    const csn = await setupContainerSideNetwork({
      netns: p.netns.name,
      result: p.result,
      mode: "masquerade",
      masquerade: { forwardPorts: [{ protocol: "tcp", port: 8080, vmPort: 80 }] },
      stateDir: await stateDir(),
    });
    cleanups.push(() => csn.teardown());
    expect(csn.dhcp6?.duid).toMatch(/^[0-9a-f]+$/);
    expect(csn.routerAdvertiser).toBeDefined();
    const during = await netnsState(p.netns);
    expect(during.addresses).toContain("br0 inet6 fd10:0:2::1/120 scope global brd -");
    expect(during.nft).toContain('oifname "eth0" ip6 saddr fd10:0:2::/120 masquerade');
    expect(during.nft).toContain('iifname "eth0" tcp dport 8080 dnat ip6 to [fd10:0:2::2]:80');
    expect(during.sysctls).toContain("/proc/sys/net/ipv6/conf/all/forwarding=1");

    const side = await vmSide(csn, { ipv6: true });
    await waitForLinkLocal(side);
    const dhcpcd = await startDhcpcd6({ vm: side.vm, vmIf: side.iface } as Ipv6Rig);
    cleanups.push(() => dhcpcd.stop());
    let got = await vmIpv6({ vm: side.vm, vmIf: side.iface } as Ipv6Rig);
    for (
      let i = 0;
      i < 100 &&
      !(
        got.addresses.includes("fd10:0:2::2/128") && got.routes.some((r) => r.startsWith("default via fe80:"))
      );
      i++
    ) {
      await new Promise((r) => setTimeout(r, 200));
      got = await vmIpv6({ vm: side.vm, vmIf: side.iface } as Ipv6Rig);
    }
    // DHCPv6 hands out the address alone (/128); the router advertisement makes the /120 on-link.
    expect(got.addresses, await dhcpcd.log()).toEqual(["fd10:0:2::2/128"]);
    expect(got.routes).toContain("fd10:0:2::/120");
    expect(got.routes.filter((r) => r.startsWith("default via fe80:"))).toHaveLength(1);
    await ping(side.vm, "fd10:0:2::1");
    await ping(side.vm, far6);

    const farServer = await startServer(far, "tcp", 9000, "far");
    cleanups.push(() => farServer.stop());
    expect(await ask(side.vm, "tcp", far6, 9000)).toBe(`hello from far to ${pod6}`);
    const vmTcp = await startServer(side.vm, "tcp", 80, "vm");
    cleanups.push(() => vmTcp.stop());
    expect(await ask(far, "tcp", pod6, 8080)).toBe(`hello from vm to ${far6}`);
    expect(await ask(p.netns, "tcp", pod6, 8080)).toBe(`hello from vm to ${pod6}`);

    await dhcpcd.stop();
    await side.stop();
    await csn.teardown();
    expect(await netnsState(p.netns)).toEqual(before);
  });

  test("a /32 on a link without a MAC (a TUN): the VM still gets a MAC and the private lease", async () => {
    const pod = await createNetns("csnmq");
    cleanups.push(() => pod.remove());
    await pod.exec("ip", ["tuntap", "add", "dev", "eth0", "mode", "tun"]);
    await pod.exec("ip", ["addr", "add", "10.244.7.5/32", "dev", "eth0"]);
    await pod.exec("ip", ["link", "set", "eth0", "up"]);
    await pod.exec("ip", ["route", "add", "default", "dev", "eth0"]);
    const before = await netnsState(pod);
    const csn = await setupContainerSideNetwork({
      netns: pod.name,
      mode: "masquerade",
      masquerade: { ipv4: "192.168.77.10/28" },
      stateDir: await stateDir(),
    });
    cleanups.push(() => csn.teardown());
    const mac = csn.interfaces[0]?.hardwareAddr ?? "";
    expect(mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    expect(csn.result.ips?.[0]?.address).toBe("10.244.7.5/32");
    const side = await vmSide(csn);
    const { got } = await udhcpcLease(side);
    expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["192.168.77.10/28"]);
    expect(got.routes.filter((r) => r.startsWith("default via 192.168.77.1"))).toHaveLength(1);
    expect((await netnsState(pod)).nft).toContain('oifname "eth0" ip saddr 192.168.77.0/28 masquerade');
    await side.stop();
    await csn.teardown();
    expect(await netnsState(pod)).toEqual(before);
  });

  test("bad masquerade input: one VmnetInputError naming the field, nothing changed", async () => {
    const p = await makePod("bridge");
    cleanups.push(() => p.remove());
    const before = await netnsState(p.netns);
    const base = { netns: p.netns.name, result: p.result, stateDir: await stateDir() };
    const podAddress = (p.result.ips[0]?.address ?? "").split("/")[0] as string;
    const cases: [Record<string, unknown>, string][] = [
      [{ mode: "bridge", masquerade: {} }, "masquerade"],
      [{ mode: "masquerade", masquerade: { ipv4: "10.0.2.1/24" } }, "masquerade.ipv4"],
      [{ mode: "masquerade", masquerade: { ipv4: "10.0.2.0/24" } }, "masquerade.ipv4"],
      [{ mode: "masquerade", masquerade: { ipv4: "10.0.2.2/31" } }, "masquerade.ipv4"],
      [{ mode: "masquerade", masquerade: { ipv4: "fd10::2/64" } }, "masquerade.ipv4"],
      [
        { mode: "masquerade", masquerade: { ipv4: `${podAddress.replace(/\.\d+$/, ".200")}/24` } },
        "masquerade.ipv4",
      ],
      [{ mode: "masquerade", masquerade: { ipv6: "fd10:0:2::1/120" } }, "masquerade.ipv6"],
      [
        { mode: "masquerade", masquerade: { forwardPorts: [{ protocol: "tcp", port: 0 }] } },
        "masquerade.forwardPorts.0.port",
      ],
      [
        { mode: "masquerade", masquerade: { forwardPorts: [{ protocol: "sctp", port: 80 }] } },
        "masquerade.forwardPorts.0.protocol",
      ],
      [
        {
          mode: "masquerade",
          masquerade: {
            forwardPorts: [
              { protocol: "udp", port: 53 },
              { protocol: "udp", port: 53, vmPort: 5353 },
            ],
          },
        },
        "masquerade.forwardPorts.1",
      ],
      [{ mode: "masquerade", masquerade: { bogus: true } }, "masquerade"],
    ];
    for (const [options, field] of cases) {
      const error = await setupContainerSideNetwork({ ...base, ...options } as never).catch(
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(options)).toBeInstanceOf(VmnetInputError);
      expect((error as VmnetInputError).field, JSON.stringify(options)).toBe(field);
      expect(await netnsState(p.netns)).toEqual(before);
    }
  });
});
