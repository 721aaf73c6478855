// RouterAdvertiser against the guest's own kernel (accept_ra, RFC 4191 route information on):
// the routes, MTU and hop limit it installs from our adverts, no SLAAC address (A=0), and the
// router link-local resolving to the real gateway's MAC through our Neighbor Advertisements, so
// that pings reach the gateway and beyond. Then the masquerade-style case (the address is really
// the router's, we stay silent on NS), RS answered by unicast, and hostile ND counted.
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterEach, expect, test, vi } from "vitest";
import { macBytes } from "../src/dhcp/mac.js";
import { IPPROTO_ICMPV6 } from "../src/dhcp6/frame6.js";
import { buildIpv6Frame, formatIpv6, linkLocalFromMac, parseIpv6 } from "../src/dhcp6/index.js";
import { ALL_ROUTERS, multicastMac, solicitedNodeAddress } from "../src/dhcp6/ipv6.js";
import { decodeNdOptions } from "../src/ra/advert.js";
import { type RaEvent, type RouterAdvertConfig, RouterAdvertiser } from "../src/ra/index.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { GATEWAY_MAC, type Ipv6Rig, ipv6Rig, NET, ping6, vmIpv6 } from "./support/ipv6-peers.js";
import { RawClient6 } from "./support/ipv6-raw-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const VM_MAC = "0a:58:0a:07:00:88";
const routerLinkLocal = formatIpv6(linkLocalFromMac(macBytes(GATEWAY_MAC)));
const config: RouterAdvertConfig = {
  routerMac: GATEWAY_MAC,
  hopLimit: 55,
  prefixes: [{ prefix: NET.prefix }],
  routes: [{ prefix: "2001:db8:99::/48", preference: "high" }],
  rdnss: ["2001:db8:53::53"],
  dnssl: ["cluster.local"],
  mtu: 1400,
};

async function sysctl(rig: Ipv6Rig, key: string, value: string) {
  await execa("ip", ["netns", "exec", rig.vm.name, "sysctl", "-qw", `net.ipv6.conf.eth0.${key}=${value}`]);
}
async function readProc(rig: Ipv6Rig, key: string): Promise<string> {
  return String((await rig.vm.exec("cat", [`/proc/sys/net/ipv6/conf/eth0/${key}`])).stdout).trim();
}

/** The guest's kernel configures itself from adverts; it then gets the CNI address by hand. */
async function kernelGuest(rig: Ipv6Rig) {
  await sysctl(rig, "disable_ipv6", "0");
  await sysctl(rig, "accept_ra", "1");
  await sysctl(rig, "accept_ra_rt_info_max_plen", "64");
  await execa("ip", ["-n", rig.vm.name, "link", "set", "eth0", "up"]);
}

describePrivileged("RouterAdvertiser", () => {
  test("the guest kernel routes as advertised and reaches the real gateway and beyond through it", async () => {
    const rig = await ipv6Rig(VM_MAC);
    cleanups.push(() => rig.remove());
    const events: RaEvent[] = [];
    const ra = await RouterAdvertiser.start({
      netns: rig.pod.name,
      bindings: [{ listenOn: rig.podIf, config }],
      onEvent: (e) => events.push(e),
    });
    cleanups.push(() => ra.stop());
    await kernelGuest(rig);
    await vi.waitFor(
      async () => {
        expect((await vmIpv6(rig)).routes).toEqual(
          expect.arrayContaining([
            `default via ${routerLinkLocal}`,
            NET.prefix,
            `2001:db8:99::/48 via ${routerLinkLocal}`,
          ]),
        );
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await readProc(rig, "mtu")).toBe("1400");
    expect(await readProc(rig, "hop_limit")).toBe("55");
    // A=0: no address formed by SLAAC, only the link-local.
    expect((await vmIpv6(rig)).addresses).toEqual([]);
    await execa("ip", ["-n", rig.vm.name, "addr", "add", `${NET.guest}/128`, "dev", "eth0", "nodad"]);
    expect(await ping6(rig.vm, NET.gateway)).toBe(true);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    // The advert's source link-layer option filled the guest's neighbour entry; once it is gone
    // (expiry, NUD failure), only our Neighbor Advertisement can resolve the router address,
    // since no device owns it.
    expect(ra.stats().total.sent.neighborAdvert).toBe(0);
    await execa("ip", ["-n", rig.vm.name, "-6", "neigh", "flush", "dev", "eth0"]);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    const neigh = String(
      (await rig.vm.exec("ip", ["-6", "neigh", "show", routerLinkLocal, "dev", "eth0"])).stdout,
    );
    expect(neigh).toContain(`lladdr ${GATEWAY_MAC} router`);
    await expect.poll(() => ra.stats().total.sent.neighborAdvert).toBeGreaterThanOrEqual(1);
    const stats = ra.stats();
    expect(stats.total.sent.unsolicitedAdvert).toBeGreaterThanOrEqual(1);
    expect(stats.total.received.routerSolicitation).toBeGreaterThanOrEqual(1);
    expect(stats.total.sent.solicitedAdvert).toBe(stats.total.received.routerSolicitation);
    expect(stats.total.droppedTotal).toBe(0);
    expect(events.some((e) => e.type === "neighbor-advert" && e.target === routerLinkLocal)).toBe(true);
  }, 60_000);

  test("masquerade-style: the advertised link-local is the router's own; NS are left to its kernel", async () => {
    const rig = await ipv6Rig(VM_MAC);
    cleanups.push(() => rig.remove());
    const ra = await RouterAdvertiser.start({
      netns: rig.pod.name,
      bindings: [
        {
          listenOn: rig.podIf,
          config: { ...config, sourceLinkLocal: NET.gatewayLinkLocal, answerNeighborSolicitations: false },
        },
      ],
    });
    cleanups.push(() => ra.stop());
    await kernelGuest(rig);
    await vi.waitFor(
      async () => expect((await vmIpv6(rig)).routes).toContain(`default via ${NET.gatewayLinkLocal}`),
      {
        timeout: 15_000,
        interval: 200,
      },
    );
    await execa("ip", ["-n", rig.vm.name, "addr", "add", `${NET.guest}/128`, "dev", "eth0", "nodad"]);
    expect(await ping6(rig.vm, NET.far)).toBe(true);
    expect(ra.stats().total.sent.neighborAdvert).toBe(0);
    expect(ra.stats().total.notOurTarget).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("an RS gets a unicast RA with every option; hostile ND is dropped and counted", async () => {
    const net = await podAndVm(VM_MAC);
    cleanups.push(() => net.remove());
    const ra = await RouterAdvertiser.start({
      netns: net.pod.name,
      bindings: [{ listenOn: net.podIf, config }],
    });
    cleanups.push(() => ra.stop());
    const client = await RawClient6.open(net.vm, net.vmIf, VM_MAC);
    cleanups.push(() => client.close());
    const rs = (
      o: { hopLimit?: number; code?: number; corrupt?: boolean; src?: Buffer; options?: Buffer } = {},
    ) => {
      const icmp = Buffer.concat([
        Buffer.from([133, o.code ?? 0, 0, 0, 0, 0, 0, 0]),
        o.options ?? Buffer.alloc(0),
      ]);
      const f = buildIpv6Frame({
        srcMac: client.mac,
        dstMac: multicastMac(ALL_ROUTERS),
        srcIp: o.src ?? client.linkLocal,
        dstIp: ALL_ROUTERS,
        hopLimit: o.hopLimit ?? 255,
        protocol: IPPROTO_ICMPV6,
        upper: icmp,
      });
      if (o.corrupt) f[f.length - 1] = (f[f.length - 1] as number) ^ 0xff;
      return f;
    };
    const before = client.received.length;
    await client.sendFrame(rs({ options: Buffer.from([1, 1, ...client.mac]) }));
    const got = await client.waitFor(
      (r, i = client.received.indexOf(r)) =>
        i >= before && r.icmp?.[0] === 134 && r.dstIp.equals(client.linkLocal),
      2000,
    );
    expect(got).toBeDefined();
    const icmp = got?.icmp as Buffer;
    expect(got?.hopLimit).toBe(255);
    expect(got?.dstMac).toEqual(client.mac);
    expect(formatIpv6(got?.srcIp as Buffer)).toBe(routerLinkLocal);
    expect([icmp[4], icmp[5], icmp.readUInt16BE(6)]).toEqual([55, 0xc0, 1800]);
    const options = decodeNdOptions(icmp.subarray(16)) ?? [];
    expect(options.map((o) => o.type)).toEqual([1, 5, 3, 24, 25, 31]);
    expect(Buffer.from(options[0]?.body ?? []).subarray(0, 6)).toEqual(macBytes(GATEWAY_MAC));
    const prefix = Buffer.from(options[2]?.body ?? []);
    expect([prefix[0], prefix[1], formatIpv6(prefix.subarray(14, 30))]).toEqual([64, 0x80, "2001:db8:1::"]);
    const rio = Buffer.from(options[3]?.body ?? []);
    expect([rio[0], rio[1], rio.length]).toEqual([48, 0x08, 14]);

    // Hostile: forwarded (hop limit 64), bad checksum, code 1, zero-length option, :: with lladdr,
    // an NS for a multicast target.
    const ns = Buffer.concat([Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]), parseIpv6("ff02::1") as Buffer]);
    const sent = [
      rs({ hopLimit: 64 }),
      rs({ corrupt: true }),
      rs({ code: 1 }),
      rs({ options: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]) }),
      rs({ src: Buffer.alloc(16), options: Buffer.from([1, 1, ...client.mac]) }),
      buildIpv6Frame({
        srcMac: client.mac,
        dstMac: multicastMac(solicitedNodeAddress(parseIpv6("ff02::1") as Buffer)),
        srcIp: client.linkLocal,
        dstIp: solicitedNodeAddress(parseIpv6("ff02::1") as Buffer),
        hopLimit: 255,
        protocol: IPPROTO_ICMPV6,
        upper: ns,
      }),
    ];
    for (const f of sent) await client.sendFrame(f);
    await vi.waitFor(() => expect(ra.stats().total.droppedTotal).toBe(6));
    expect(ra.stats().total.dropped).toEqual({
      "bad-hop-limit": 1,
      "bad-checksum": 1,
      "bad-code": 1,
      "bad-option": 1,
      "unspecified-source-with-lladdr": 1,
      "multicast-target": 1,
    });
    expect(ra.stats().total.sent.solicitedAdvert).toBe(1);
  }, 60_000);

  test("an advert without a router (no routes in the result): prefix on-link, no default route, the device's MAC", async () => {
    const rig = await ipv6Rig(VM_MAC);
    cleanups.push(() => rig.remove());
    const ra = await RouterAdvertiser.start({
      netns: rig.pod.name,
      bindings: [
        { listenOn: rig.podIf, config: { defaultRouterLifetimeS: 0, prefixes: [{ prefix: NET.prefix }] } },
      ],
    });
    cleanups.push(() => ra.stop());
    const podMac = String((await rig.pod.exec("cat", [`/sys/class/net/${rig.podIf}/address`])).stdout).trim();
    expect(ra.routerAddress(rig.podIf)).toBe(formatIpv6(linkLocalFromMac(macBytes(podMac))));
    await kernelGuest(rig);
    await vi.waitFor(async () => expect((await vmIpv6(rig)).routes).toContain(NET.prefix), {
      timeout: 15_000,
      interval: 200,
    });
    expect((await vmIpv6(rig)).routes.filter((r) => r.startsWith("default"))).toEqual([]);
    expect((await vmIpv6(rig)).addresses).toEqual([]);
  }, 60_000);
});
