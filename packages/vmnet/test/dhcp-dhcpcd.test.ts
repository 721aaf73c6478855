// DhcpServer against dhcpcd, which configures the interface itself: the lease it installs, a /32
// with an on-link gateway, RENEW and REBIND with a short lease, a reboot with a stale lease
// (INIT-REBOOT -> NAK -> DISCOVER), RELEASE, DECLINE after its ARP probe finds the address taken,
// and INFORM.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test, vi } from "vitest";
import { type DhcpEvent, type DhcpLease, DhcpServer } from "../src/dhcp/index.js";
import { installed, podAndVm, startDhcpcd, stopClient, waitForEvent } from "./support/dhcp-peers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(lease: DhcpLease, net?: Awaited<ReturnType<typeof podAndVm>>) {
  const n = net ?? (await podAndVm(lease.clientMac));
  if (!net) cleanups.push(() => n.remove());
  const events: DhcpEvent[] = [];
  const server = await DhcpServer.start({
    netns: n.pod.name,
    bindings: [{ listenOn: n.podIf, lease }],
    onEvent: (e) => events.push(e),
  });
  cleanups.push(() => server.stop());
  return { net: n, server, events };
}

const lease: DhcpLease = {
  clientMac: "0a:58:0a:07:00:09",
  address: "10.7.0.9",
  prefixLength: 24,
  gateway: "10.7.0.1",
  routes: [{ dst: "0.0.0.0/0" }, { dst: "10.96.0.0/12" }],
  nameservers: ["10.96.0.10"],
  search: ["ns1.svc.cluster.local", "svc.cluster.local"],
  domain: "cluster.local",
  mtu: 1450,
  hostname: "guest-7",
  leaseTimeS: 3600,
};

describePrivileged("DhcpServer with dhcpcd", () => {
  test("dhcpcd obtains and installs exactly the lease", async () => {
    const { net, server } = await serve(lease);
    const client = await startDhcpcd(net.vm, net.vmIf, { args: ["--noarp"] });
    cleanups.push(() => stopClient(client));
    const bound = await waitForEvent(client, (e) => e.event === "BOUND");
    expect(bound.env).toMatchObject({
      new_ip_address: "10.7.0.9",
      new_subnet_cidr: "24",
      new_subnet_mask: "255.255.255.0",
      new_broadcast_address: "10.7.0.255",
      new_routers: "10.7.0.1",
      new_classless_static_routes: "10.96.0.0/12 10.7.0.1 0.0.0.0/0 10.7.0.1",
      new_domain_name_servers: "10.96.0.10",
      new_domain_name: "cluster.local",
      new_domain_search: "ns1.svc.cluster.local svc.cluster.local",
      new_interface_mtu: "1450",
      new_host_name: "guest-7",
      new_dhcp_lease_time: "3600",
      new_dhcp_server_identifier: "169.254.254.2",
    });
    // dhcpcd applies option 26 to its routes (not to the link), and may still be adding them
    // when its script reports BOUND.
    await vi.waitFor(async () =>
      expect(await installed(net.vm, net.vmIf)).toEqual({
        addresses: [{ local: "10.7.0.9", prefixlen: 24, broadcast: "10.7.0.255" }],
        routes: [
          "default via 10.7.0.1 mtu 1450",
          "10.7.0.0/24 on-link mtu 1450",
          "10.96.0.0/12 via 10.7.0.1 mtu 1450",
        ],
        mtu: 1500,
      }),
    );
    expect(server.stats().bindings[0]).toMatchObject({ bound: true, sent: { offer: 1, ack: 1, nak: 0 } });
  });

  test("a /32 with an on-link gateway: dhcpcd installs the host route to the gateway and the default", async () => {
    const calico: DhcpLease = {
      clientMac: "0a:58:0a:f4:02:06",
      address: "10.244.2.6",
      prefixLength: 32,
      gateway: "169.254.1.1",
      routes: [{ dst: "0.0.0.0/0" }],
      nameservers: [],
      search: [],
      leaseTimeS: 3600,
    };
    const { net } = await serve(calico);
    const client = await startDhcpcd(net.vm, net.vmIf, { args: ["--noarp"] });
    cleanups.push(() => stopClient(client));
    const bound = await waitForEvent(client, (e) => e.event === "BOUND");
    expect(bound.env).toMatchObject({
      new_ip_address: "10.244.2.6",
      new_subnet_cidr: "32",
      new_classless_static_routes: "169.254.1.1/32 0.0.0.0 0.0.0.0/0 169.254.1.1",
    });
    await vi.waitFor(async () =>
      expect(await installed(net.vm, net.vmIf)).toEqual({
        addresses: [{ local: "10.244.2.6", prefixlen: 32, broadcast: "10.244.2.6" }],
        routes: ["default via 169.254.1.1", "169.254.1.1 on-link"],
        mtu: 1500,
      }),
    );
  });

  test("RENEW (unicast) and REBIND with a short lease; the server ACKs both", async () => {
    // The gateway answers ARP from the pod side so the unicast RENEW leaves the guest; the pod
    // does not forward it, so only the server's packet socket sees it.
    const short = { ...lease, leaseTimeS: 8 };
    const { net, events } = await serve(short);
    await net.pod.exec("ip", ["addr", "add", "10.7.0.1/24", "dev", net.podIf]);
    const client = await startDhcpcd(net.vm, net.vmIf, { args: ["--noarp"] });
    cleanups.push(() => stopClient(client));
    await waitForEvent(client, (e) => e.event === "BOUND");
    await waitForEvent(client, (e) => e.event === "RENEW", 20_000);
    await vi
      .waitFor(() => expect(events.some((e) => e.type === "ack" && e.state === "renewing")).toBe(true), {
        timeout: 5000,
      })
      .catch(async (e) => {
        throw new Error(`${e}\n${JSON.stringify(events)}\n${await client.log?.()}`);
      });
    // Now the server cannot be reached by unicast: dhcpcd keeps failing to renew and, at T2,
    // rebinds by broadcast.
    await net.vm.exec("ip", ["route", "add", "blackhole", "169.254.254.2/32"]);
    await vi.waitFor(
      () => expect(events.some((e) => e.type === "ack" && e.state === "rebinding")).toBe(true),
      {
        timeout: 30_000,
        interval: 200,
      },
    );
    await waitForEvent(client, (e) => e.event === "REBIND", 10_000);
    // (As at BOUND, the address may still be on its way when the script reports REBIND.)
    await vi.waitFor(
      async () =>
        expect((await installed(net.vm, net.vmIf)).addresses.map((a) => a.local)).toEqual(["10.7.0.9"]),
      { timeout: 5000, interval: 100 },
    );
  }, 90_000);

  test("a guest rebooting with a stale lease: INIT-REBOOT is NAKed, then it gets the right address", async () => {
    const state = await mkdtemp(join(tmpdir(), "dhcpcd-state-"));
    cleanups.push(() => rm(state, { recursive: true, force: true }));
    const net = await podAndVm(lease.clientMac);
    cleanups.push(() => net.remove());
    // First life: the pod had 10.7.0.50; dhcpcd keeps that lease in its state directory.
    const old = await serve({ ...lease, address: "10.7.0.50" }, net);
    const first = await startDhcpcd(net.vm, net.vmIf, { stateDir: state, args: ["--noarp"] });
    await waitForEvent(first, (e) => e.event === "BOUND");
    // SIGKILL: the guest dies without releasing, its lease file stays.
    first.signal("SIGKILL");
    await first.done();
    await old.server.stop();
    // Second life: same MAC, new address. dhcpcd asks for the old one first (INIT-REBOOT).
    const { events } = await serve(lease, net);
    const second = await startDhcpcd(net.vm, net.vmIf, { stateDir: state, args: ["--noarp"] });
    cleanups.push(() => stopClient(second));
    const bound = await waitForEvent(second, (e) => e.event === "BOUND").catch(async (e) => {
      throw new Error(`${e}\nserver events: ${JSON.stringify(events)}`);
    });
    expect(bound.env.new_ip_address).toBe("10.7.0.9");
    expect(events.find((e) => e.type === "nak")).toMatchObject({
      state: "init-reboot",
      requested: "10.7.0.50",
    });
    expect((await second.events()).map((e) => e.event)).toContain("NAK");
    expect((await installed(net.vm, net.vmIf)).addresses.map((a) => a.local)).toEqual(["10.7.0.9"]);
  }, 90_000);

  test("RELEASE on dhcpcd -k, DECLINE when its ARP probe finds the address in use", async () => {
    const { net, server, events } = await serve(lease);
    const client = await startDhcpcd(net.vm, net.vmIf, { args: ["--noarp"] });
    cleanups.push(() => stopClient(client));
    await waitForEvent(client, (e) => e.event === "BOUND");
    // dhcpcd -k: the running daemon releases its lease (DHCPRELEASE, unicast to the server id
    // through the gateway, whose ARP the pod answers here) and deconfigures.
    await net.pod.exec("ip", ["addr", "add", "10.7.0.1/24", "dev", net.podIf]);
    // (It signals the daemon, pid 1 of the client's pid namespace, which then takes the command
    // down with it: its exit status says nothing.)
    const released = await client.command?.(["-k", net.vmIf]);
    // (dhcpcd sends the RELEASE on its own time: under load that is well past waitFor's default 1 s.)
    await vi
      .waitFor(() => expect(events.some((e) => e.type === "release")).toBe(true), {
        timeout: 20_000,
        interval: 100,
      })
      .catch(async (e) => {
        const said = `exit ${released?.exitCode} ${released?.stdout ?? ""} ${released?.stderr ?? ""}`;
        throw new Error(
          `${e}\ndhcpcd -k: ${said}\nserver: ${JSON.stringify(events)}\n${await client.log?.()}`,
        );
      });
    expect(server.stats().bindings[0]?.bound).toBe(false);
    // Someone on the link already has the address: dhcpcd's probe sees the ARP reply and declines.
    await net.pod.exec("ip", ["addr", "add", "10.7.0.9/24", "dev", net.podIf]);
    const prober = await startDhcpcd(net.vm, net.vmIf);
    cleanups.push(() => stopClient(prober));
    await vi.waitFor(() => expect(events.some((e) => e.type === "decline")).toBe(true), {
      timeout: 30_000,
      interval: 200,
    });
    expect(server.stats().bindings[0]?.declines).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test("INFORM: dhcpcd --inform with a static address gets the configuration", async () => {
    const { net, events, server } = await serve(lease);
    await net.vm.exec("ip", ["addr", "add", "10.7.0.9/24", "dev", net.vmIf]);
    const client = await startDhcpcd(net.vm, net.vmIf, { args: ["--noarp", "--inform=10.7.0.9/24"] });
    cleanups.push(() => stopClient(client));
    const informed = await waitForEvent(client, (e) => e.event === "INFORM").catch((e) => {
      throw new Error(`${e}\nserver: ${JSON.stringify(server.stats())}`);
    });
    expect(informed.env).toMatchObject({
      new_domain_name_servers: "10.96.0.10",
      new_domain_name: "cluster.local",
    });
    expect(events.find((e) => e.type === "ack")).toMatchObject({ state: "inform" });
  });
});
