// The request path's shortcuts (issue 16: fewer objects per link) must give exactly what the
// general path gives: a veth spec checked by hand is the schema's result (and anything the
// shortcut does not take still gets the schema's typed error), an IPv4 address written in place
// is ipToBytes's bytes, a MAC formatted in place is the per-byte formatting, a link's group read
// in place is the identity decoder's, and a list of ifindexes skips the schema but a bad list
// does not.
import { isIPv4, isIPv6 } from "node:net";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ipToBytes, macAt } from "../src/codec/addresses.js";
import * as C from "../src/codec/constants.js";
import { AttrWriter } from "../src/codec/writer.js";
import { NetlinkInputError } from "../src/errors.js";
import { NETNS_RUN_DIR, netnsPath } from "../src/netns.js";
import { decodeLinkGroup, decodeLinkIdentity } from "../src/packet/link-identity.js";
import { checkLinkAddSpec, checkLinkAddSpecWithSchema, linkChanges } from "../src/rtnl/link-specs.js";
import { Links } from "../src/rtnl/links.js";
import { plainLinkChanges } from "../src/rtnl/plain-link-changes.js";
import { plainLinkSpec } from "../src/rtnl/plain-link-spec.js";
import { plainRouteSpec } from "../src/rtnl/plain-route-spec.js";
import { routeSpec } from "../src/rtnl/routes.js";
import { plainTapOptions, tapOptions } from "../src/tap.js";
import { check, isCidr } from "../src/validate.js";

/** The outcome of a check: its value, or the error's class, field and reason. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof NetlinkInputError) return { field: e.field, reason: e.reason };
    return { thrown: String(e) };
  }
}

// Names and values around every edge the hand check draws: lengths 0/1/15/16, '/', ':', space,
// '.', '..', non-ASCII, mtu 67/68/65535/65536, fractional, negative and 2^32 numbers.
const nameish = fc.oneof(
  fc.constantFrom(
    "v0",
    "p0",
    "a",
    "x".repeat(15),
    "x".repeat(16),
    "",
    ".",
    "..",
    "a/b",
    "a:b",
    "a b",
    "é",
    "eth0\t",
    "ok-._x",
  ),
  fc.string({ maxLength: 17 }),
);
const numberish = fc.oneof(
  fc.constantFrom(0, -0, 1, 67, 68, 1500, 65535, 65536, 1.5, -1, 0xffffffff, 2 ** 32, Number.NaN),
  fc.integer(),
);
const token = fc.oneof(
  fc.constantFrom("vmnet", "pod-1", "a.b_c", "", "x".repeat(64), "x".repeat(65), "bad token"),
  fc.string({ maxLength: 6 }),
);
const goodName = fc.stringMatching(/^[a-z0-9._-]{1,15}$/).filter((n) => n !== "." && n !== "..");
const goodMtu = fc.integer({ min: 68, max: 65535 });
const goodU32 = fc.nat(0xffffffff);
/** A spec the shortcut takes: two names, then any of the optional fields it knows, well-formed. */
const plainVeth = fc.record(
  {
    kind: fc.constant("veth"),
    name: goodName,
    peer: fc.record({ name: goodName, mtu: goodMtu }, { requiredKeys: ["name"] }),
    mtu: goodMtu,
    up: fc.boolean(),
    group: goodU32,
    txqlen: goodU32,
    alias: fc.stringMatching(/^[ -~]{0,20}$/),
    mark: fc.record({
      owner: fc.constantFrom("vmnet", "a.b_c-1"),
      role: fc.constantFrom("tap", "x".repeat(64)),
    }),
  },
  { requiredKeys: ["kind", "name", "peer"] },
);
/** One field replaced by a value from around the edges (often invalid, sometimes still fine). */
const edgy: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constantFrom("name"), nameish),
  fc.tuple(
    fc.constantFrom("peer"),
    fc.oneof(
      fc.record({ name: nameish, mtu: numberish }),
      fc.record({ name: nameish, mac: fc.constant("02:00:00:00:00:01") }),
      fc.constant("p0"),
      fc.constant(null),
    ),
  ),
  fc.tuple(fc.constantFrom("mtu", "group", "txqlen"), numberish),
  fc.tuple(fc.constantFrom("up"), fc.oneof(fc.boolean(), fc.constant(1), fc.constant(undefined))),
  fc.tuple(
    fc.constantFrom("alias"),
    fc.oneof(fc.string({ maxLength: 8 }), fc.constant("a".repeat(256)), fc.constant("é".repeat(200))),
  ),
  fc.tuple(
    fc.constantFrom("mark"),
    fc.oneof(
      fc.record({ owner: token, role: token }),
      fc.record({ owner: token, role: token, extra: fc.constant(1) }),
      fc.record({ owner: token }),
    ),
  ),
  fc.tuple(fc.constantFrom("kind"), fc.constantFrom("bridge", "dummy", "VETH")),
  fc.tuple(
    fc.constantFrom("netns", "mac", "bogus", "master"),
    fc.constantFrom("somewhere", "02:00:00:00:00:01", true, 1),
  ),
);
const vethish = fc
  .tuple(plainVeth, fc.option(edgy, { freq: 2 }))
  .map(([spec, change]) => plain(change ? { ...spec, [change[0]]: change[1] } : spec));

/** fast-check's records do not have Object.prototype; callers' literals do (one level down too). */
function plain(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o))
    out[k] = typeof v === "object" && v !== null ? { ...(v as Record<string, unknown>) } : v;
  return out;
}

/**
 * Runs a hand-checked shortcut over 3,000 generated inputs: wherever it takes one, its result must
 * equal the schema's (what it declines goes to the schema as before: nothing to compare). Returns
 * how many it took.
 */
function takenWhereSchemaAgrees<T>(
  inputs: fc.Arbitrary<T>,
  shortcut: (input: T) => unknown,
  schema: Parameters<typeof check>[0],
  field: string,
): number {
  let taken = 0;
  fc.assert(
    fc.property(inputs, (input) => {
      const fast = shortcut(input);
      if (fast) {
        taken++;
        expect(fast).toEqual(check(schema, input, field));
      }
    }),
    { numRuns: 3000 },
  );
  return taken;
}

describe("shortcuts on the request path", () => {
  test("a veth spec checked by hand is what the schema returns; anything else gets the schema's error", () => {
    let taken = 0;
    fc.assert(
      fc.property(vethish, (spec) => {
        if (plainLinkSpec(spec)) taken++;
        expect(outcome(() => checkLinkAddSpec(spec))).toEqual(
          outcome(() => checkLinkAddSpecWithSchema(spec)),
        );
      }),
      { numRuns: 4000 },
    );
    // The generator reaches the shortcut often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(500);
    // The usual specs take it.
    expect(plainLinkSpec({ kind: "veth", name: "v1", peer: { name: "p1" } })).toEqual({
      kind: "veth",
      name: "v1",
      peer: { name: "p1" },
    });
    expect(
      plainLinkSpec({ kind: "veth", name: "v1", peer: { name: "p1" }, mark: { owner: "o", role: "r" } }),
    ).toBeDefined();
    // A netns, a MAC or a second spec field it does not know: the schema's.
    expect(plainLinkSpec({ kind: "veth", name: "v1", peer: { name: "p1", netns: "x" } })).toBeUndefined();
    expect(
      plainLinkSpec({ kind: "veth", name: "v1", peer: { name: "p1" }, mac: "02:00:00:00:00:01" }),
    ).toBeUndefined();
  });

  test("a bridge spec checked by hand is what the schema returns; anything else gets the schema's error", () => {
    const plainBridge = fc.record(
      {
        kind: fc.constant("bridge"),
        name: goodName,
        mtu: goodMtu,
        up: fc.boolean(),
        group: goodU32,
        txqlen: goodU32,
        alias: fc.stringMatching(/^[ -~]{0,20}$/),
        mark: fc.record({ owner: fc.constantFrom("vmnet", "a.b_c-1"), role: fc.constantFrom("csn", "br") }),
        ageingTime: goodU32,
        forwardDelay: goodU32,
        helloTime: goodU32,
        maxAge: goodU32,
        stp: fc.boolean(),
        priority: fc.nat(65535),
        vlanFiltering: fc.boolean(),
        vlanDefaultPvid: fc.nat(4094),
        multicastSnooping: fc.boolean(),
      },
      { requiredKeys: ["kind", "name"] },
    );
    const bridgeEdge: fc.Arbitrary<[string, unknown]> = fc.oneof(
      edgy,
      fc.tuple(
        fc.constantFrom("ageingTime", "forwardDelay", "helloTime", "maxAge", "priority", "vlanDefaultPvid"),
        fc.oneof(numberish, fc.constantFrom(4094, 4095, 65535, 65536, "1", undefined)),
      ),
      fc.tuple(
        fc.constantFrom("stp", "vlanFiltering", "multicastSnooping"),
        fc.constantFrom(0, "true", undefined),
      ),
      fc.tuple(fc.constantFrom("peer"), fc.constant({ name: "p0" })),
    );
    const bridgeish = fc
      .tuple(plainBridge, fc.option(bridgeEdge, { freq: 2 }))
      .map(([spec, change]) =>
        plain(change && change[0] !== "kind" ? { ...spec, [change[0]]: change[1] } : spec),
      );
    let taken = 0;
    fc.assert(
      fc.property(bridgeish, (spec) => {
        if (plainLinkSpec(spec)) taken++;
        expect(outcome(() => checkLinkAddSpec(spec))).toEqual(
          outcome(() => checkLinkAddSpecWithSchema(spec)),
        );
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(100);
    // The bridge a container-side setup creates takes it.
    const pod = {
      kind: "bridge",
      name: "br0",
      mtu: 1500,
      txqlen: 1000,
      ageingTime: 0,
      alias: "m",
      group: 7,
      up: true,
    };
    expect(plainLinkSpec(pod)).toEqual(pod);
  });

  test("the hand-checked spec is a fresh object: changing it (addMany adds a mark) leaves the input alone", () => {
    const input = { kind: "veth" as const, name: "v1", peer: { name: "p1" } };
    const parsed = checkLinkAddSpec(input);
    expect(parsed).not.toBe(input);
    (parsed as { mark?: unknown }).mark = { owner: "o", role: "r" };
    (parsed as { peer: { name: string } }).peer.name = "changed";
    expect(input).toEqual({ kind: "veth", name: "v1", peer: { name: "p1" } });
  });

  test("bad veth input still gets the typed error naming the field", () => {
    expect(
      outcome(() => checkLinkAddSpec({ kind: "veth", name: "x".repeat(16), peer: { name: "p" } })),
    ).toEqual({
      field: "link.name",
      reason: "must be 1-15 bytes",
    });
    expect(
      outcome(() => checkLinkAddSpec({ kind: "veth", name: "v", peer: { name: "p", mtu: 10 } })),
    ).toEqual({
      field: "link.peer.mtu",
      reason: "must be at least 68",
    });
    expect(
      outcome(() =>
        checkLinkAddSpec({
          kind: "veth",
          name: "v",
          peer: { name: "p" },
          alias: "a",
          mark: { owner: "o", role: "r" },
        }),
      ),
    ).toEqual({
      field: "link.mark",
      reason: "alias and mark exclude each other",
    });
  });

  test("an IPv4 address written in place is ipToBytes's bytes; other text goes through ipToBytes", () => {
    const viaWriter = (text: string) =>
      outcome(() => new AttrWriter().ip(C.IFA_LOCAL, text).finish().toString("hex"));
    const viaBytes = (text: string) =>
      outcome(() => new AttrWriter().attr(C.IFA_LOCAL, ipToBytes(text)).finish().toString("hex"));
    const texts = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.constantFrom(
        "0.0.0.0",
        "255.255.255.255",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1..2.3",
        "1.2.3.4 ",
        "",
        "::ffff:1.2.3.4",
        "1.2.3.04",
      ),
      fc.stringMatching(/^[0-9.]{0,16}$/),
    );
    fc.assert(
      fc.property(texts, (t) => {
        expect(viaWriter(t)).toEqual(viaBytes(t));
      }),
      { numRuns: 3000 },
    );
    // Length 8, type IFA_LOCAL, then the address in network order.
    expect(viaWriter("10.1.2.3")).toEqual({ ok: "080002000a010203" });
  });

  test("link changes checked by hand are what the schema accepts, with the same fields", async () => {
    const changes = fc
      .tuple(
        fc.record(
          {
            up: fc.boolean(),
            promisc: fc.boolean(),
            mtu: goodMtu,
            txqlen: goodU32,
            group: goodU32,
            alias: fc.stringMatching(/^[ -~]{0,20}$/),
            name: goodName,
            master: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 2 ** 31 }), goodName),
          },
          { requiredKeys: [] },
        ),
        fc.option(
          fc.oneof(
            fc.tuple(fc.constantFrom("name", "master"), nameish),
            fc.tuple(
              fc.constantFrom("master"),
              fc.constantFrom(0, -1, 1.5, 2 ** 53, 2 ** 53 - 1, undefined, "x".repeat(127), "x".repeat(128)),
            ),
            fc.tuple(fc.constantFrom("mtu", "txqlen", "group"), numberish),
            fc.tuple(fc.constantFrom("up", "promisc"), fc.constantFrom(1, "true", undefined)),
            fc.tuple(fc.constantFrom("alias"), fc.constantFrom("a".repeat(256), "é".repeat(100), 7)),
            fc.tuple(
              fc.constantFrom("mac", "netns", "bogus"),
              fc.constantFrom("02:00:00:00:00:01", "ns1", true),
            ),
          ),
          { freq: 2 },
        ),
      )
      .map(([c, change]) => ({ ...c, ...(change ? { [change[0]]: change[1] } : {}) }));
    expect(takenWhereSchemaAgrees(changes, plainLinkChanges, linkChanges, "changes")).toBeGreaterThan(1000);
    expect(plainLinkChanges({ alias: "vmnet:1 owner=x pid=1@2 role=tap", group: 7 })).toBeDefined();
    expect(plainLinkChanges({ master: 2 ** 53 })).toBeUndefined();
    expect(plainLinkChanges({ mac: "02:00:00:00:00:01" })).toBeUndefined();
    // Bad changes still get the typed error naming the field.
    const links = new Links(undefined as never);
    const admitted = { admit: () => Promise.resolve() };
    Object.defineProperty(links, "conn", { value: admitted });
    await expect(links.set(1, { mtu: 10 })).rejects.toMatchObject({ field: "changes.mtu" });
    await expect(links.set(1, { master: 2 ** 53 })).rejects.toBeInstanceOf(NetlinkInputError);
  });

  test("TAP options checked by hand are what the schema returns (defaults applied); the rest get its error", () => {
    const tapish = fc
      .tuple(
        fc.record(
          {
            name: goodName,
            netns: fc.constantFrom("ns1", "/run/netns/x", { path: "/run/netns/y" }),
            mode: fc.constantFrom("tap", "tun"),
            vnetHdr: fc.boolean(),
            queues: fc.integer({ min: 1, max: 256 }),
            persist: fc.boolean(),
            owner: fc.nat(0x7fffffff),
            group: fc.nat(0x7fffffff),
          },
          { requiredKeys: [] },
        ),
        fc.option(
          fc.oneof(
            fc.tuple(fc.constantFrom("name"), nameish),
            fc.tuple(fc.constantFrom("queues", "owner", "group"), numberish),
            fc.tuple(fc.constantFrom("mode"), fc.constantFrom("TAP", "tun ", undefined)),
            fc.tuple(fc.constantFrom("vnetHdr", "persist"), fc.constantFrom(1, "true", undefined)),
            fc.tuple(
              fc.constantFrom("netns"),
              fc.constantFrom("", { name: "x" }, 3, { path: "" }, { path: "/p", pid: 1 }, { path: 7 }),
            ),
            fc.tuple(fc.constantFrom("bogus"), fc.constant(true)),
          ),
          { freq: 2 },
        ),
      )
      .map(([o, change]) => ({ ...o, ...(change ? { [change[0]]: change[1] } : {}) }));
    expect(takenWhereSchemaAgrees(tapish, plainTapOptions, tapOptions, "tap")).toBeGreaterThan(1000);
    expect(plainTapOptions({ name: "t1", persist: true })).toEqual({
      name: "t1",
      mode: "tap",
      vnetHdr: false,
      queues: 1,
      persist: true,
    });
    expect(plainTapOptions({ name: "t1", queues: 0 })).toBeUndefined();
    // The form vmnet passes for a pod's netns is taken too.
    expect(plainTapOptions({ name: "t1", netns: { path: "/run/netns/p" } })?.netns).toEqual({
      path: "/run/netns/p",
    });
  });

  test("route specs checked by hand are what the schema returns; the rest get its error", () => {
    const address = fc.constantFrom(
      "10.1.0.1",
      "fd00::1",
      "::ffff:1.2.3.4",
      "10.1.0.256",
      "1.2.3",
      "fe80::1%eth0",
      "",
    );
    const cidrish = fc.constantFrom(
      "10.1.0.0/16",
      "10.1.0.5",
      "fd00::/64",
      "0.0.0.0/0",
      "10.1.0.0/33",
      "fd00::/129",
      "10.0.0.0/08",
      "x/1",
    );
    const routeish = fc
      .tuple(
        fc.record(
          {
            dst: fc.oneof(fc.constant("default"), cidrish),
            gateway: address,
            dev: fc.integer({ min: 1, max: 2 ** 31 }),
            metric: goodU32,
            table: goodU32,
            protocol: fc.oneof(fc.constantFrom("unspec", "kernel", "boot", "static", "dhcp"), fc.nat(255)),
            scope: fc.constantFrom("universe", "site", "link", "host", "nowhere"),
            type: fc.constantFrom("unicast", "local", "blackhole", "unreachable", "prohibit", "throw"),
            onlink: fc.boolean(),
            prefsrc: address,
            src: cidrish,
            mtu: goodMtu,
            advmss: goodU32,
          },
          { requiredKeys: ["dst"] },
        ),
        fc.option(
          fc.oneof(
            fc.tuple(fc.constantFrom("metric", "table", "advmss", "mtu", "dev", "protocol"), numberish),
            fc.tuple(
              fc.constantFrom("protocol", "scope", "type"),
              fc.constantFrom("ra", "global", "nat", "UNICAST", undefined),
            ),
            fc.tuple(fc.constantFrom("dev"), fc.constantFrom("eth0", "", "a/b", 0)),
            fc.tuple(fc.constantFrom("onlink"), fc.constantFrom(1, "yes", undefined)),
            fc.tuple(fc.constantFrom("dst"), fc.constantFrom(undefined, "Default", 5)),
            fc.tuple(fc.constantFrom("multipath"), fc.constant([{ gateway: "10.0.0.1" }])),
            fc.tuple(fc.constantFrom("bogus"), fc.constant(true)),
          ),
          { freq: 2 },
        ),
      )
      .map(([o, change]) => plain(change ? { ...o, [change[0]]: change[1] } : o));
    let taken = 0;
    fc.assert(
      fc.property(routeish, (spec) => {
        const fast = plainRouteSpec(spec);
        if (fast) {
          taken++;
          expect(fast).toEqual(check(routeSpec, spec, "route"));
          expect(fast).not.toBe(spec);
        } else if (
          !("multipath" in spec) &&
          typeof spec.dev !== "string" &&
          !Object.values(spec).includes(undefined)
        ) {
          // Declined only where the schema refuses it (names, multipath and keys given as
          // undefined are left to the schema, valid or not).
          expect(() => check(routeSpec, spec, "route")).toThrow(NetlinkInputError);
        }
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(300);
  });

  test("a netns name maps to the path join() gives, and a bad name still gets the typed error", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom(".", "..", "a/b", "", "x".repeat(255), "x".repeat(256), "..a", "a\\b"),
        ),
        (name) => {
          const got = outcome(() => netnsPath(name));
          if (name.startsWith("/")) expect(got).toEqual({ ok: name });
          else if ("ok" in (got as object)) expect(got).toEqual({ ok: join(NETNS_RUN_DIR, name) });
          else expect(got).toMatchObject({ field: expect.stringMatching(/^netns/) });
        },
      ),
      { numRuns: 2000 },
    );
    expect(outcome(() => netnsPath("a/b"))).toMatchObject({ field: "netns.name" });
    expect(outcome(() => netnsPath(".."))).toMatchObject({ field: "netns.name" });
    expect(outcome(() => netnsPath("x".repeat(256)))).toMatchObject({ field: "netns.name" });
    expect(netnsPath("pod-1")).toBe("/run/netns/pod-1");
  });

  test("isCidr read in place accepts exactly what the split-and-regex reading accepted", () => {
    const reference = (s: string): boolean => {
      const [a = "", p, extra] = s.split("/");
      if (extra !== undefined) return false;
      const max = isIPv4(a) ? 32 : isIPv6(a) ? 128 : -1;
      if (max < 0) return false;
      if (p === undefined) return true;
      return /^\d{1,3}$/.test(p) && Number(p) <= max;
    };
    const texts = fc.oneof(
      fc
        .tuple(
          fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant("1.2.3")),
          fc.constantFrom(
            "",
            "/",
            "/0",
            "/24",
            "/32",
            "/33",
            "/128",
            "/129",
            "/0024",
            "/2a",
            "/ 1",
            "/1/2",
            "/-1",
            "/１",
          ),
        )
        .map(([a, p]) => a + p),
      fc.stringMatching(/^[0-9a-f.:/]{0,20}$/),
    );
    fc.assert(
      fc.property(texts, (t) => {
        expect(isCidr(t)).toBe(reference(t));
      }),
      { numRuns: 3000 },
    );
    expect(isCidr("10.0.0.1/24")).toBe(true);
    expect(isCidr("10.0.0.1/33")).toBe(false);
  });

  test("a MAC formatted in place is two lowercase hex digits per byte, colon-separated", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(4), (bytes, pad) => {
        const buf = Buffer.concat([Buffer.alloc(pad, 0xee), bytes, Buffer.alloc(3, 0xdd)]);
        const want = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
        expect(macAt(buf, pad, bytes.length)).toBe(want);
      }),
    );
  });

  test("a link's group read in place is the identity decoder's, and bad bodies fail alike", () => {
    const attr = fc.oneof(
      fc.record({ type: fc.constant(C.IFLA_GROUP), value: fc.nat(0xffffffff) }),
      fc.record({ type: fc.constant(C.IFLA_IFNAME), value: fc.string({ minLength: 1, maxLength: 15 }) }),
      fc.record({ type: fc.constantFrom(C.IFLA_MTU, C.IFLA_TXQLEN), value: fc.nat(0xffffffff) }),
    );
    fc.assert(
      fc.property(
        fc.array(attr, { maxLength: 6 }),
        fc.nat(0xffff),
        fc.integer({ min: -1, max: 9 }),
        (attrs, index, cut) => {
          const w = new AttrWriter();
          w.fixed(16, (b, at) => b.writeInt32LE(index, at + 4));
          for (const a of attrs) {
            if (typeof a.value === "string") w.string(a.type, a.value);
            else w.u32(a.type, a.value);
          }
          let body = w.finish();
          // Sometimes cut the body short (a malformed message).
          if (cut >= 0 && body.length > 16) body = body.subarray(0, Math.max(16, body.length - cut));
          const a = outcome(() => decodeLinkIdentity(body).group);
          const b = outcome(() => decodeLinkGroup(body));
          if ("ok" in (a as object)) expect(b).toEqual(a);
          else expect(b).toMatchObject({ thrown: expect.stringContaining("NetlinkDecodeError") });
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("a list of ifindexes skips the schema; a bad list still gets the typed error naming the element", async () => {
    // No connection is needed to refuse input: the check comes first.
    const links = new Links(undefined as never);
    await expect(links.deleteMany([1, 2, -3])).rejects.toMatchObject({ field: "links.2" });
    await expect(links.deleteMany([1, "x".repeat(128)])).rejects.toMatchObject({ field: "links.1" });
    await expect(links.deleteMany([1, 1.5])).rejects.toBeInstanceOf(NetlinkInputError);
    await expect(links.resolve("eth0" as never)).rejects.toMatchObject({ field: "links" });
  });
});
