// The whole IPv6 story from a real dual-stack CNI result (bridge + host-local plugins): leases
// and adverts derived from the result, the gateway's MAC learned from the pod before rewiring,
// DhcpServer + Dhcp6Server + RouterAdvertiser on the VM's bridge port, and dhcpcd in the VM gets
// exactly the CNI's IPv4 and IPv6 addresses, both default routes and DNS, and reaches the CNI
// gateway and an address beyond it in both families.
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterEach, expect, test, vi } from "vitest";
import { DhcpServer, leasesFromResult } from "../src/dhcp/index.js";
import { macBytes } from "../src/dhcp/mac.js";
import {
  Dhcp6Server,
  formatIpv6,
  leases6FromResult,
  linkLocalFromMac,
  stableDuid,
} from "../src/dhcp6/index.js";
import { advertsFromResult, gateways6FromResult, RouterAdvertiser } from "../src/ra/index.js";
import { CNI_NET, cniDualStackPod, resolveGatewayMac, wireVmByBridge } from "./support/ipv6-cni.js";
import { ping6, startDhcpcd6, vmIpv6, vmLinkUp } from "./support/ipv6-peers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describePrivileged("IPv6 for the VM from a real dual-stack CNI result", () => {
  test("dhcpcd gets both CNI addresses, both default routes and DNS; pings reach the gateway and beyond", async () => {
    const c = await cniDualStackPod();
    cleanups.push(() => c.remove());
    const leases4 = leasesFromResult(c.result);
    const leases6 = leases6FromResult(c.result, { leaseTimeS: 3600 });
    const gateway6 = gateways6FromResult(c.result).get("eth0") as string;
    const lease4 = leases4.get("eth0");
    const lease6 = leases6.get("eth0");
    expect(lease4).toBeDefined();
    expect(lease6).toMatchObject({
      clientMac: c.vmMac,
      prefixLength: 64,
      nameservers: ["2001:db8:77::53"],
      search: ["svc.cluster.local"],
      preferredLifetimeS: 3600,
      validLifetimeS: 3600,
    });
    expect(gateway6).toBe("2001:db8:77::1");
    const routerMac = await resolveGatewayMac(c.pod, gateway6);
    const bridgeMac = String(
      (
        await c.host.exec("cat", [
          `/sys/class/net/${(c.result.interfaces as { name: string }[])[0]?.name}/address`,
        ])
      ).stdout,
    ).trim();
    expect(routerMac).toBe(bridgeMac);
    const adverts = advertsFromResult(c.result, { routerMac });
    expect(adverts.get("eth0")).toEqual({
      routerMac,
      managed: true,
      other: true,
      defaultRouterLifetimeS: 1800,
      prefixes: [
        {
          prefix: CNI_NET.v6,
          onLink: true,
          autonomous: false,
          validLifetimeS: 86400,
          preferredLifetimeS: 86400,
        },
      ],
      routes: [],
      rdnss: ["2001:db8:77::53"],
      dnssl: ["svc.cluster.local"],
    });
    await wireVmByBridge(c);

    const v4 = await DhcpServer.start({
      netns: c.pod.name,
      bindings: [{ listenOn: c.podIf, lease: lease4 as NonNullable<typeof lease4> }],
    });
    cleanups.push(() => v4.stop());
    const v6 = await Dhcp6Server.start({
      netns: c.pod.name,
      bindings: [{ listenOn: c.podIf, lease: lease6 as NonNullable<typeof lease6> }],
      duid: stableDuid(c.pod.path),
    });
    cleanups.push(() => v6.stop());
    const ra = await RouterAdvertiser.start({
      netns: c.pod.name,
      bindings: [
        { listenOn: c.podIf, config: adverts.get("eth0") as NonNullable<ReturnType<typeof adverts.get>> },
      ],
    });
    cleanups.push(() => ra.stop());

    const vm = { vm: c.vm, vmIf: c.vmIf };
    await vmLinkUp(vm);
    const client = await startDhcpcd6(vm, [], { dualStack: true });
    cleanups.push(() => client.stop());
    const routerLinkLocal = formatIpv6(linkLocalFromMac(macBytes(routerMac)));
    await vi
      .waitFor(
        async () => {
          const got = await vmIpv6(vm);
          expect(got.addresses).toEqual([`${lease6?.address}/128`]);
          expect(got.routes).toContain(`default via ${routerLinkLocal}`);
          const v4routes = String((await c.vm.exec("ip", ["-4", "route", "show", "dev", c.vmIf])).stdout);
          expect(v4routes).toContain(`default via ${lease4?.gateway}`);
        },
        { timeout: 40_000, interval: 250 },
      )
      .catch(async (e) => {
        throw new Error(`${e}\n${await client.log()}`);
      });
    const addr4 = await c.vm.ipJson(["-4", "addr", "show", "dev", c.vmIf]);
    expect(
      addr4[0]?.addr_info?.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`),
    ).toEqual([`${lease4?.address}/24`]);
    expect(ra.routerAddress(c.podIf)).toBe(routerLinkLocal);
    await vi.waitFor(async () => expect(await client.resolvConf()).toMatch(/nameserver 2001:db8:77::53/));
    const resolv = await client.resolvConf();
    expect(resolv).toMatch(/^nameserver 10\.77\.0\.53$/m);
    expect(resolv).toMatch(/^search svc\.cluster\.local$/m);
    // Both families reach the CNI gateway and the netns behind it.
    expect(await ping6(c.vm, gateway6)).toBe(true);
    expect(await ping6(c.vm, CNI_NET.far6)).toBe(true);
    const ping4 = async (to: string) =>
      (await execa("ip", ["netns", "exec", c.vm.name, "ping", "-c", "1", "-W", "2", to], { reject: false }))
        .exitCode === 0;
    expect(await ping4(lease4?.gateway as string)).toBe(true);
    expect(await ping4(CNI_NET.far4)).toBe(true);
    expect(v6.stats().bindings[0]?.bound).toBe(true);
    expect(v6.stats().total.droppedTotal).toBe(0);
  }, 90_000);
});
