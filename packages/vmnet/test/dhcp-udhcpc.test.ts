// DhcpServer against busybox udhcpc, the client of small guests: it must obtain exactly the lease
// (address, mask, gateway, classless routes, MTU, DNS, search, host name) and install it.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { type DhcpEvent, type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { installed, podAndVm, startUdhcpc } from "./support/dhcp-peers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(lease: DhcpLease, options: { serverId?: string } = {}) {
  const net = await podAndVm(lease.clientMac);
  cleanups.push(() => net.remove());
  const events: DhcpEvent[] = [];
  const server = await DhcpServer.start({
    netns: net.pod.name,
    bindings: [{ listenOn: net.podIf, lease, ...options }],
    onEvent: (e) => events.push(e),
  });
  cleanups.push(() => server.stop());
  return { net, server, events };
}

const subnetLease: DhcpLease = {
  clientMac: "0a:58:0a:01:02:03",
  address: "10.1.2.3",
  prefixLength: 24,
  gateway: "10.1.2.1",
  routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.50.0/24", gw: "10.1.2.254" }],
  nameservers: ["10.96.0.10", "10.96.0.11"],
  search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
  domain: "cluster.local",
  mtu: 1400,
  hostname: "vm-one",
  leaseTimeS: 3600,
};

describePrivileged("DhcpServer with busybox udhcpc", () => {
  test("a subnet lease with a gateway, an extra route, DNS, search list and MTU", async () => {
    const { net, server, events } = await serve(subnetLease);
    const run = await startUdhcpc(net.vm, net.vmIf).then((c) => c.done());
    const bound = run.events.find((e) => e.event === "bound");
    expect(bound, `udhcpc: ${run.stderr}`).toBeDefined();
    expect(bound?.env).toMatchObject({
      ip: "10.1.2.3",
      subnet: "255.255.255.0",
      mask: "24",
      broadcast: "10.1.2.255",
      router: "10.1.2.1",
      dns: "10.96.0.10 10.96.0.11",
      domain: "cluster.local",
      search: "default.svc.cluster.local svc.cluster.local cluster.local",
      mtu: "1400",
      hostname: "vm-one",
      lease: "3600",
      serverid: "169.254.254.2",
      // RFC 3442: the default route repeated in 121 (clients ignore option 3 when 121 is there).
      staticroutes: "192.168.50.0/24 10.1.2.254 0.0.0.0/0 10.1.2.1",
    });
    expect(await installed(net.vm, net.vmIf)).toEqual({
      addresses: [{ local: "10.1.2.3", prefixlen: 24, broadcast: "10.1.2.255" }],
      routes: ["default via 10.1.2.1", "10.1.2.0/24 on-link", "192.168.50.0/24 via 10.1.2.254"],
      mtu: 1400,
    });
    const stats = server.stats();
    expect(stats.total.received).toMatchObject({ discover: 1, request: 1 });
    expect(stats.total.sent).toMatchObject({ offer: 1, ack: 1, nak: 0 });
    expect(stats.bindings[0]?.bound).toBe(true);
    expect(events.map((e) => e.type)).toEqual(["offer", "ack"]);
    expect(events[1]).toMatchObject({ type: "ack", state: "selecting", address: "10.1.2.3" });
  });

  // Calico and the ptp plugin: a /32 whose gateway is on the link but in no subnet.
  const calicoLease: DhcpLease = {
    clientMac: "0a:58:0a:f4:01:05",
    address: "10.244.1.5",
    prefixLength: 32,
    gateway: "169.254.1.1",
    routes: [{ dst: "0.0.0.0/0", gw: "169.254.1.1" }],
    nameservers: ["10.96.0.10"],
    search: [],
    leaseTimeS: 86400,
  };

  test("a /32 with an on-link gateway: mask 255.255.255.255, a host route to the gateway, then the default", async () => {
    const { net } = await serve(calicoLease);
    const run = await startUdhcpc(net.vm, net.vmIf).then((c) => c.done());
    const bound = run.events.find((e) => e.event === "bound");
    expect(bound, `udhcpc: ${run.stderr}`).toBeDefined();
    expect(bound?.env).toMatchObject({
      ip: "10.244.1.5",
      subnet: "255.255.255.255",
      mask: "32",
      router: "169.254.1.1",
      staticroutes: "169.254.1.1/32 0.0.0.0 0.0.0.0/0 169.254.1.1",
      // The broadcast of a /32 is the address itself (what `ip addr add a/32 brd +` sets).
      broadcast: "10.244.1.5",
    });
    expect(await installed(net.vm, net.vmIf)).toEqual({
      addresses: [{ local: "10.244.1.5", prefixlen: 32, broadcast: "10.244.1.5" }],
      routes: ["default via 169.254.1.1", "169.254.1.1 on-link"],
      mtu: 1500,
    });
  });

  test("Debian's packaged udhcpc script installs the /32 too (it ignores 121 and adds the default route onlink)", async () => {
    const { net } = await serve(calicoLease);
    const client = await startUdhcpc(net.vm, net.vmIf, { debianScript: true });
    const run = await client.done();
    expect(
      run.events.some((e) => e.event === "bound"),
      `udhcpc: ${run.stderr}`,
    ).toBe(true);
    expect(await installed(net.vm, net.vmIf)).toEqual({
      addresses: [{ local: "10.244.1.5", prefixlen: 32, broadcast: "10.244.1.5" }],
      routes: ["default via 169.254.1.1 onlink"],
      mtu: 1500,
    });
  });
});
