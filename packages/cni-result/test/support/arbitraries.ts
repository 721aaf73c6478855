// fast-check arbitraries for valid results of every family.

import fc from "fast-check";
import type {
  Dns,
  Interface040,
  InterfaceV1,
  LegacyIpConfig,
  Result020,
  Result040,
  ResultV1,
  Route,
} from "../../src/index.js";

type Family = 4 | 6;

export const family = fc.constantFrom<Family>(4, 6);
export const ipOf = (f: Family) => (f === 4 ? fc.ipV4() : fc.ipV6());
export const cidrOf = (f: Family) =>
  fc.tuple(ipOf(f), fc.integer({ min: 0, max: f === 4 ? 32 : 128 })).map(([ip, prefix]) => `${ip}/${prefix}`);
export const mac = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((bytes) => bytes.map((b) => b.toString(16).padStart(2, "0")).join(":"));

const word = fc.stringMatching(/^[a-z][a-z0-9.-]{0,12}$/);
const uint = fc.integer({ min: 0, max: 0xffffffff });

export const dns: fc.Arbitrary<Dns> = fc.record(
  {
    nameservers: fc.array(family.chain(ipOf), { maxLength: 3 }),
    domain: word,
    search: fc.array(word, { maxLength: 3 }),
    options: fc.array(word, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

export const legacyRouteOf = (f: Family) =>
  fc.record({ dst: cidrOf(f), gw: ipOf(f) }, { requiredKeys: ["dst"] });

export const routeOf = (f: Family): fc.Arbitrary<Route> =>
  fc.record(
    {
      dst: cidrOf(f),
      gw: ipOf(f),
      mtu: fc.integer({ min: 68, max: 65535 }),
      advmss: fc.integer({ min: 0, max: 65535 }),
      priority: uint,
      table: uint,
      scope: fc.integer({ min: 0, max: 255 }),
    },
    { requiredKeys: ["dst"] },
  );
export const route = family.chain(routeOf);

const legacyIpConfigOf = (f: Family): fc.Arbitrary<LegacyIpConfig> =>
  fc.record(
    { ip: cidrOf(f), gateway: ipOf(f), routes: fc.array(legacyRouteOf(f), { minLength: 1, maxLength: 3 }) },
    { requiredKeys: ["ip"] },
  );

export const result020: fc.Arbitrary<Result020> = fc.record(
  {
    cniVersion: fc.constantFrom("0.1.0" as const, "0.2.0" as const),
    ip4: legacyIpConfigOf(4),
    ip6: legacyIpConfigOf(6),
    dns,
  },
  { requiredKeys: ["cniVersion"] },
);

const sandbox = fc.constantFrom("/run/netns/blue", "/proc/3553/ns/net", "vm-1234");
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);

export const interface040: fc.Arbitrary<Interface040> = fc.record(
  { name, mac, sandbox },
  { requiredKeys: ["name"] },
);

export const interfaceV1: fc.Arbitrary<InterfaceV1> = fc.record(
  {
    name,
    mac,
    mtu: fc.integer({ min: 68, max: 65535 }),
    sandbox,
    socketPath: fc.constantFrom("/var/run/vhost/sock0", "/tmp/vu.sock"),
    pciID: fc.constantFrom("0000:00:1f.6", "8086:9a01"),
  },
  { requiredKeys: ["name"] },
);

/**
 * An `ips` entry of family f. With interfaces it points at one of them; an abbreviated result
 * (no `interfaces` key) may still carry an index, as the 0.3.1 spec's example does.
 */
const ipEntryOf = (f: Family, count: number | undefined) =>
  count === 0
    ? fc.record({ address: cidrOf(f), gateway: ipOf(f) }, { requiredKeys: ["address"] })
    : fc.record(
        {
          address: cidrOf(f),
          gateway: ipOf(f),
          interface: count === undefined ? fc.nat(3) : fc.integer({ min: 0, max: count - 1 }),
        },
        { requiredKeys: ["address"] },
      );

function resultOf<I>(interfaces: fc.Arbitrary<I>) {
  return fc.option(fc.array(interfaces, { maxLength: 3 }), { nil: undefined }).chain((ifaces) =>
    fc.record(
      {
        interfaces: fc.constant(ifaces),
        ips: fc.array(
          family.chain((f) => ipEntryOf(f, ifaces?.length).map((ip) => ({ ip, f }))),
          {
            maxLength: 4,
          },
        ),
        routes: fc.array(route, { maxLength: 4 }),
        dns,
      },
      { requiredKeys: ["interfaces"] },
    ),
  );
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const result040: fc.Arbitrary<Result040> = fc
  .tuple(fc.constantFrom("0.3.0" as const, "0.3.1" as const, "0.4.0" as const), resultOf(interface040))
  .map(([cniVersion, r]) =>
    withoutUndefined({
      cniVersion,
      interfaces: r.interfaces,
      ips: r.ips?.map(({ ip, f }) => ({ version: f === 4 ? ("4" as const) : ("6" as const), ...ip })),
      routes: r.routes,
      dns: r.dns,
    }),
  );

export const resultV1: fc.Arbitrary<ResultV1> = fc
  .tuple(fc.constantFrom("1.0.0" as const, "1.1.0" as const), resultOf(interfaceV1))
  .map(([cniVersion, r]) =>
    withoutUndefined({
      cniVersion,
      interfaces: r.interfaces,
      ips: r.ips?.map(({ ip }) => ip),
      routes: r.routes,
      dns: r.dns,
    }),
  );

export const anyResult = fc.oneof(result020, result040, resultV1);
