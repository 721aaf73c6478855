// DhcpServer against ISC dhclient with Debian's dhclient-script and its rfc3442 hook: what a
// Debian guest receives (option 121 as raw bytes) and installs, for a subnet and for a /32.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test, vi } from "vitest";
import { type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { installed, podAndVm, startDhclient, stopClient, waitForEvent } from "./support/dhcp-peers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function run(lease: DhcpLease) {
  const net = await podAndVm(lease.clientMac);
  cleanups.push(() => net.remove());
  const server = await DhcpServer.start({ netns: net.pod.name, bindings: [{ listenOn: net.podIf, lease }] });
  cleanups.push(() => server.stop());
  const client = await startDhclient(net.vm, net.vmIf);
  cleanups.push(() => stopClient(client));
  const bound = await waitForEvent(client, (e) => e.event === "BOUND");
  return { net, server, bound };
}

describePrivileged("DhcpServer with ISC dhclient (Debian's dhclient-script)", () => {
  test("a subnet with an extra route: 121 arrives as bytes, the hook installs every route, the MTU is set", async () => {
    const { net, bound } = await run({
      clientMac: "0a:58:0a:0c:00:04",
      address: "10.12.0.4",
      prefixLength: 24,
      gateway: "10.12.0.1",
      routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.50.0/24", gw: "10.12.0.254" }],
      nameservers: ["10.96.0.10"],
      search: ["svc.cluster.local", "cluster.local"],
      mtu: 1400,
      leaseTimeS: 3600,
    });
    expect(bound.env).toMatchObject({
      new_ip_address: "10.12.0.4",
      new_subnet_mask: "255.255.255.0",
      new_routers: "10.12.0.1",
      new_rfc3442_classless_static_routes: "24 192 168 50 10 12 0 254 0 10 12 0 1",
      new_domain_search: "svc.cluster.local. cluster.local.",
      new_interface_mtu: "1400",
    });
    await vi.waitFor(async () =>
      expect(await installed(net.vm, net.vmIf)).toEqual({
        addresses: [{ local: "10.12.0.4", prefixlen: 24, broadcast: "10.12.0.255" }],
        routes: ["default via 10.12.0.1", "10.12.0.0/24 on-link", "192.168.50.0/24 via 10.12.0.254"],
        mtu: 1400,
      }),
    );
  });

  test("a /32 with an on-link gateway: the host route to the gateway, then the default", async () => {
    const { net, bound } = await run({
      clientMac: "0a:58:0a:f4:03:07",
      address: "10.244.3.7",
      prefixLength: 32,
      gateway: "169.254.1.1",
      routes: [{ dst: "0.0.0.0/0" }],
      nameservers: [],
      search: [],
      leaseTimeS: 3600,
    });
    expect(bound.env).toMatchObject({
      new_subnet_mask: "255.255.255.255",
      new_rfc3442_classless_static_routes: "32 169 254 1 1 0 0 0 0 0 169 254 1 1",
    });
    await vi.waitFor(async () =>
      expect(await installed(net.vm, net.vmIf)).toEqual({
        addresses: [{ local: "10.244.3.7", prefixlen: 32, broadcast: "10.244.3.7" }],
        routes: ["default via 169.254.1.1", "169.254.1.1 on-link"],
        mtu: 1500,
      }),
    );
  });
});
