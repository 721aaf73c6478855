// Dhcp6Server + RouterAdvertiser against dhcpcd in a "VM" netns, on a bridge port of a "pod" netns
// whose other port leads to the CNI's real IPv6 gateway (a router netns) and beyond it: dhcpcd
// gets exactly the served address, a default route through the advertised router link-local,
// which resolves (through our Neighbor Advertisement) to the real gateway's MAC, DNS in the
// resolv.conf its own hook writes; ping6 reaches the gateway and an address behind it.
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test, vi } from "vitest";
import { macBytes } from "../src/dhcp/mac.js";
import {
  type Dhcp6Event,
  type Dhcp6Lease,
  Dhcp6Server,
  formatIpv6,
  linkLocalFromMac,
  stableDuid,
} from "../src/dhcp6/index.js";
import { RouterAdvertiser } from "../src/ra/index.js";
import { GATEWAY_MAC, ipv6Rig, NET, ping6, startDhcpcd6, vmIpv6, vmLinkUp } from "./support/ipv6-peers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const lease: Dhcp6Lease = {
  clientMac: "0a:58:0a:07:00:66",
  address: NET.guest,
  prefixLength: 64,
  nameservers: ["2001:db8:53::53"],
  search: ["ns1.svc.cluster.local", "svc.cluster.local"],
  preferredLifetimeS: 3600,
  validLifetimeS: 7200,
};
const routerLinkLocal = formatIpv6(linkLocalFromMac(macBytes(GATEWAY_MAC)));

async function serveBoth(l: Dhcp6Lease, duid: string, wiring: "bridge" | "tc-redirect" = "bridge") {
  const rig = await ipv6Rig(l.clientMac, { wiring });
  cleanups.push(() => rig.remove());
  const events6: Dhcp6Event[] = [];
  const server = await Dhcp6Server.start({
    netns: rig.pod.name,
    bindings: [{ listenOn: rig.podIf, lease: l }],
    duid,
    onEvent: (e) => events6.push(e),
  });
  cleanups.push(() => server.stop());
  const ra = await RouterAdvertiser.start({
    netns: rig.pod.name,
    bindings: [
      {
        listenOn: rig.podIf,
        config: {
          routerMac: GATEWAY_MAC,
          prefixes: [{ prefix: NET.prefix }],
          // Another server than DHCPv6's, so resolv.conf shows where each one came from.
          rdnss: ["2001:db8:53::99"],
          dnssl: ["cluster.local"],
          mtu: 1450,
        },
      },
    ],
  });
  cleanups.push(() => ra.stop());
  await vmLinkUp(rig);
  return { rig, server, ra, events6 };
}

describePrivileged("IPv6 for the VM with dhcpcd", () => {
  test("dhcpcd gets the CNI address, the default route via the real gateway, DNS; ping6 gets through", async () => {
    const duid = stableDuid("dhcpcd-test");
    const { rig, server, ra, events6 } = await serveBoth(lease, duid);
    expect(ra.routerAddress(rig.podIf)).toBe(routerLinkLocal);
    const client = await startDhcpcd6(rig);
    cleanups.push(() => client.stop());
    await vi
      .waitFor(
        async () => {
          const got = await vmIpv6(rig);
          expect(got.addresses).toEqual([`${NET.guest}/128`]);
          expect(got.routes).toContain(`default via ${routerLinkLocal}`);
        },
        { timeout: 30_000, interval: 200 },
      )
      .catch(async (e) => {
        throw new Error(`${e}\n${await client.log()}\n${JSON.stringify(await vmIpv6(rig))}`);
      });
    // dhcpcd adds the IA_NA address as a /128 and the advertised prefix as an on-link route.
    expect((await vmIpv6(rig)).routes.sort()).toEqual(
      [`default via ${routerLinkLocal}`, NET.prefix, "fe80::/64"].sort(),
    );
    const bound = (await client.events()).find((e) => e.reason === "BOUND6");
    expect(bound?.env).toMatchObject({
      new_dhcp6_ia_na1_ia_addr1: NET.guest,
      new_dhcp6_ia_na1_ia_addr1_pltime: "3600",
      new_dhcp6_ia_na1_ia_addr1_vltime: "7200",
      new_dhcp6_ia_na1_t1: "1800",
      new_dhcp6_ia_na1_t2: "2880",
      new_dhcp6_name_servers: "2001:db8:53::53",
      new_dhcp6_domain_search: "ns1.svc.cluster.local svc.cluster.local",
      new_dhcp6_server_id: duid,
    });
    const ra1 = (await client.events()).find((e) => e.reason === "ROUTERADVERT");
    expect(ra1?.env).toMatchObject({
      nd1_flags: "MO",
      nd1_from: routerLinkLocal,
      nd1_mtu: "1450",
      nd1_prefix_information1_flags: "L",
      nd1_prefix_information1_prefix: "2001:db8:1::",
      nd1_prefix_information1_length: "64",
      nd1_source_address: GATEWAY_MAC.replaceAll(":", ""),
      nd1_rdnss1_servers: "2001:db8:53::99",
      nd1_dnssl1_search: "cluster.local",
    });
    // dhcpcd merges what DHCPv6 (nameserver, search) and the advert (DNSSL) said into one file.
    await vi.waitFor(async () =>
      expect(await client.resolvConf()).toMatch(
        /^search ns1\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m,
      ),
    );
    const resolv = await client.resolvConf();
    expect(resolv.match(/^nameserver .*$/gm)).toEqual([
      "nameserver 2001:db8:53::53",
      "nameserver 2001:db8:53::99",
    ]);
    expect(await ping6(rig.vm, NET.gateway)).toBe(true);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    const stats = server.stats();
    expect(stats.bindings[0]).toMatchObject({
      bound: true,
      received: { solicit: 1, request: 1 },
      sent: { advertise: 1, reply: 1 },
    });
    expect(stats.total.droppedTotal).toBe(0);
    expect(events6.map((e) => e.type)).toEqual(["advertise", "reply"]);
  }, 60_000);

  test("dhcpcd renews at T1 and keeps its address", async () => {
    const short = { ...lease, preferredLifetimeS: 4, validLifetimeS: 30 };
    const { rig, server } = await serveBoth(short, stableDuid("dhcpcd-renew"));
    const client = await startDhcpcd6(rig);
    cleanups.push(() => client.stop());
    await vi.waitFor(async () => expect((await client.events()).map((e) => e.reason)).toContain("RENEW6"), {
      timeout: 30_000,
      interval: 250,
    });
    expect(server.stats().total.received.renew).toBeGreaterThanOrEqual(1);
    expect(server.stats().total.sent.reply).toBeGreaterThanOrEqual(2);
    expect((await vmIpv6(rig)).addresses).toEqual([`${NET.guest}/128`]);
  }, 60_000);

  test("tc-redirect wiring (no bridge): the servers still see the guest first; address, route and pings", async () => {
    const { rig, server, ra } = await serveBoth(lease, stableDuid("dhcpcd-tc"), "tc-redirect");
    const client = await startDhcpcd6(rig);
    cleanups.push(() => client.stop());
    await vi.waitFor(
      async () => {
        const got = await vmIpv6(rig);
        expect(got.addresses).toEqual([`${NET.guest}/128`]);
        expect(got.routes).toContain(`default via ${routerLinkLocal}`);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(await ping6(rig.vm, NET.gateway)).toBe(true);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    // Flushed, the router address is resolved again by something the advertiser sends: our
    // Neighbor Advertisement, or an advert (solicited by dhcpcd's RS, or periodic) landing in
    // between, whose source link-layer option says the same MAC. Nothing else on the link knows it.
    const sentNow = () => {
      const sent = ra.stats().total.sent;
      return sent.neighborAdvert + sent.solicitedAdvert + sent.unsolicitedAdvert;
    };
    const before = sentNow();
    await rig.vm.exec("ip", ["-6", "neigh", "flush", "dev", rig.vmIf]);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    const neigh = String((await rig.vm.exec("ip", ["-6", "neigh", "show", routerLinkLocal])).stdout);
    expect(neigh).toContain(`lladdr ${GATEWAY_MAC} router`);
    expect(sentNow()).toBeGreaterThan(before);
    expect(server.stats().bindings[0]?.bound).toBe(true);
  }, 60_000);

  test("dhcpcd with rapid commit binds in one exchange", async () => {
    const { rig, server, events6 } = await serveBoth(lease, stableDuid("dhcpcd-rapid"));
    const client = await startDhcpcd6(rig, ["option dhcp6_rapid_commit"]);
    cleanups.push(() => client.stop());
    await vi.waitFor(async () => expect((await vmIpv6(rig)).addresses).toEqual([`${NET.guest}/128`]), {
      timeout: 30_000,
      interval: 200,
    });
    expect(events6.filter((e) => e.type !== "drop")).toEqual([
      {
        type: "reply",
        listenOn: rig.podIf,
        clientMac: lease.clientMac,
        to: "solicit",
        address: NET.guest,
        rapidCommit: true,
      },
    ]);
    expect(server.stats().total.sent).toEqual({ advertise: 0, reply: 1 });
    expect(server.stats().bindings[0]?.bound).toBe(true);
  }, 60_000);
});
