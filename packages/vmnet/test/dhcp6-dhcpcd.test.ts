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
} from "../src/dhcp6/index.js";
import { type RaEvent, RouterAdvertiser } from "../src/ra/index.js";
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

describePrivileged("IPv6 for the VM with dhcpcd", () => {
  test("dhcpcd gets the CNI address, the default route via the real gateway, DNS; ping6 gets through", async () => {
    const rig = await ipv6Rig(lease.clientMac);
    cleanups.push(() => rig.remove());
    const events6: Dhcp6Event[] = [];
    const raEvents: RaEvent[] = [];
    const server = await Dhcp6Server.start({
      netns: rig.pod.name,
      bindings: [{ listenOn: rig.podIf, lease }],
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
            routes: [{ prefix: "2001:db8:99::/48" }],
            rdnss: ["2001:db8:53::53"],
            dnssl: ["cluster.local"],
            mtu: 1450,
          },
        },
      ],
      onEvent: (e) => raEvents.push(e),
    });
    cleanups.push(() => ra.stop());
    expect(ra.routerAddress(rig.podIf)).toBe(routerLinkLocal);
    await vmLinkUp(rig);
    const client = await startDhcpcd6(rig);
    cleanups.push(() => client.stop());
    await vi
      .waitFor(
        async () => {
          const got = await vmIpv6(rig);
          expect(got.addresses).toContain(`${NET.guest}/128`);
          expect(got.routes).toContain(`default via ${routerLinkLocal}`);
        },
        { timeout: 30_000, interval: 200 },
      )
      .catch(async (e) => {
        throw new Error(`${e}\n${await client.log()}\n${JSON.stringify(await vmIpv6(rig))}`);
      });
    const got = await vmIpv6(rig);
    console.log(
      got,
      await client.resolvConf(),
      JSON.stringify(await client.events(), null, 1).slice(0, 3000),
    );
    expect(await ping6(rig.vm, NET.gateway)).toBe(true);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
  }, 60_000);
});
