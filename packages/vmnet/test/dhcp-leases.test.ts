// leasesFromResult: a CNI result of any version -> exactly the leases it describes, and what the
// server puts on the wire for them (served-lease: options 1, 3, 28, 121 and the host route that
// makes a /32's on-link gateway reachable).
import { expect, test } from "vitest";
import { decodeClasslessRoutes } from "../src/dhcp/classless-routes.js";
import { decodeDomainSearch } from "../src/dhcp/dns-search.js";
import { type DhcpLease, leasesFromResult } from "../src/dhcp/index.js";
import { formatIpv4 } from "../src/dhcp/ipv4.js";
import { OPTION } from "../src/dhcp/options.js";
import { serveLease } from "../src/dhcp/served-lease.js";
import { VmnetInputError } from "../src/errors.js";

const v100 = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "veth1234", mac: "ee:ee:ee:ee:ee:ee" },
    { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/run/netns/pod" },
  ],
  ips: [
    { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 1 },
    { address: "fd00::5/64", gateway: "fd00::1", interface: 1 },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.1.0.254" }, { dst: "::/0" }],
  dns: { nameservers: ["10.96.0.10", "fd00::10"], search: ["svc.cluster.local"], domain: "cluster.local" },
};

test("a 1.0.0 result: one lease for the sandbox interface, IPv4 only, routes and DNS as given", () => {
  const leases = leasesFromResult(v100, { mtu: 1450, hostname: "vm-a" });
  expect([...leases.keys()]).toEqual(["eth0"]);
  expect(leases.get("eth0")).toEqual({
    clientMac: "0a:58:0a:01:00:05",
    address: "10.1.0.5",
    prefixLength: 16,
    gateway: "10.1.0.1",
    routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.1.0.254" }],
    nameservers: ["10.96.0.10"],
    search: ["svc.cluster.local"],
    domain: "cluster.local",
    mtu: 1450,
    hostname: "vm-a",
    leaseTimeS: 86400,
  });
});

test("0.4.0 and 1.1.0 results: per-interface MTU override, and a 1.1.0 interface MTU by default", () => {
  const v040 = {
    ...v100,
    cniVersion: "0.4.0",
    ips: v100.ips.map((ip, i) => ({ ...ip, version: i === 0 ? "4" : "6" })),
  };
  expect(leasesFromResult(v040, { mtu: { eth0: 1400 }, leaseTimeS: 60 }).get("eth0")).toMatchObject({
    mtu: 1400,
    leaseTimeS: 60,
  });
  const v110 = {
    ...v100,
    cniVersion: "1.1.0",
    interfaces: [v100.interfaces[0], { ...v100.interfaces[1], mtu: 8950 }],
  };
  expect(leasesFromResult(v110).get("eth0")?.mtu).toBe(8950);
  expect(leasesFromResult(v100).get("eth0")?.mtu).toBeUndefined();
});

test("bad input names the field", () => {
  const fails = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(VmnetInputError);
      return (e as VmnetInputError).field;
    }
    throw new Error("did not throw");
  };
  expect(fails(() => leasesFromResult({ ...v100, ips: [{ address: "10.1.0.500/16", interface: 1 }] }))).toBe(
    "result.ips[0].address",
  );
  expect(fails(() => leasesFromResult({ cniVersion: "0.2.0", ip4: { ip: "10.1.0.5/16" } }))).toBe(
    "result.ips[0].interface",
  );
  expect(
    fails(() =>
      leasesFromResult({ ...v100, interfaces: [v100.interfaces[0], { name: "eth0", sandbox: "/x" }] }),
    ),
  ).toBe("result.interfaces[1].mac");
  expect(fails(() => leasesFromResult(v100, { mtu: 20 }))).toBe("options.mtu");
  expect(fails(() => leasesFromResult({ ...v100, dns: { search: ["bad name"] } }))).toBe(
    "lease for eth0.search.0",
  );
});

const options = (lease: Parameters<typeof serveLease>[0]) =>
  new Map(serveLease(lease, "169.254.254.2").config);
const routesText = (b: Buffer | undefined) =>
  decodeClasslessRoutes(b ?? Buffer.alloc(0))?.map(
    (r) => `${formatIpv4(r.destination)}/${r.prefixLength} ${formatIpv4(r.router)}`,
  );

test("wire options: a plain subnet with only a default route needs option 3 alone", () => {
  const o = options({ ...(leasesFromResult(v100).get("eth0") as DhcpLease), routes: [{ dst: "0.0.0.0/0" }] });
  expect(o.get(OPTION.SUBNET_MASK)).toEqual(Buffer.from([255, 255, 0, 0]));
  expect(o.get(OPTION.BROADCAST_ADDRESS)).toEqual(Buffer.from([10, 1, 255, 255]));
  expect(o.get(OPTION.ROUTERS)).toEqual(Buffer.from([10, 1, 0, 1]));
  expect(o.has(OPTION.CLASSLESS_ROUTES)).toBe(false);
  expect(decodeDomainSearch(o.get(OPTION.DOMAIN_SEARCH) ?? Buffer.alloc(0))).toEqual(["svc.cluster.local"]);
});

test("wire options: a /32 with an on-link gateway (Calico) gets a host route, then the default, no invented subnet", () => {
  const calico = leasesFromResult({
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", mac: "0a:58:0a:f4:01:05", sandbox: "/run/netns/p" }],
    ips: [{ address: "10.244.1.5/32", gateway: "169.254.1.1", interface: 0 }],
    routes: [{ dst: "0.0.0.0/0" }],
  }).get("eth0");
  expect(calico).toBeDefined();
  const o = options(calico as DhcpLease);
  expect(o.get(OPTION.SUBNET_MASK)).toEqual(Buffer.from([255, 255, 255, 255]));
  expect(o.get(OPTION.ROUTERS)).toEqual(Buffer.from([169, 254, 1, 1]));
  expect(routesText(o.get(OPTION.CLASSLESS_ROUTES))).toEqual([
    "169.254.1.1/32 0.0.0.0",
    "0.0.0.0/0 169.254.1.1",
  ]);
  // A /31 has no broadcast (RFC 3021); a /32's is the address itself.
  expect(o.get(OPTION.BROADCAST_ADDRESS)).toEqual(Buffer.from([10, 244, 1, 5]));
  expect(options({ ...(calico as DhcpLease), prefixLength: 31 }).has(OPTION.BROADCAST_ADDRESS)).toBe(false);
});

test("wire options: on-link routes first, routes through a hop after, the default last; the subnet route is implied", () => {
  const o = options({
    clientMac: "02:00:00:00:00:01",
    address: "10.1.0.5",
    prefixLength: 24,
    gateway: "10.1.0.1",
    routes: [
      { dst: "0.0.0.0/0" },
      { dst: "10.1.0.0/24", gw: "0.0.0.0" },
      { dst: "172.16.0.0/12", gw: "192.168.7.1" },
      { dst: "192.168.7.0/24", gw: "0.0.0.0" },
    ],
    nameservers: [],
    search: [],
    leaseTimeS: 60,
  });
  expect(routesText(o.get(OPTION.CLASSLESS_ROUTES))).toEqual([
    "192.168.7.0/24 0.0.0.0",
    "172.16.0.0/12 192.168.7.1",
    "0.0.0.0/0 10.1.0.1",
  ]);
});
