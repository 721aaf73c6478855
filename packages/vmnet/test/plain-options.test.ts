// setupContainerSideNetwork's hand-checked options (src/container/plain-options.ts) must agree
// with the schema: whatever the shortcut takes, the schema takes with the same fields; whatever
// the schema refuses, the shortcut declines (and the schema's VmnetInputError names the field).
import fc from "fast-check";
import { expect, test } from "vitest";
import { setupOptionsSchema } from "../src/container/options.js";
import { plainSetupOptions } from "../src/container/plain-options.js";

const usual = fc.record(
  {
    netns: fc.oneof(
      fc.constantFrom("pod1", "/run/netns/pod1", "/proc/1/ns/net"),
      fc.constantFrom({ path: "/run/netns/p" }, { name: "p" }),
    ),
    result: fc.constantFrom({ cniVersion: "1.0.0" }, "{}", 0),
    cniVersion: fc.constantFrom("1.0.0", "1.1.0"),
    mode: fc.constantFrom("bridge", "tcfilter", "masquerade"),
    vnetHdr: fc.boolean(),
    queues: fc.integer({ min: 1, max: 256 }),
    mtu: fc.integer({ min: 68, max: 65535 }),
    dhcp: fc.boolean(),
    stateDir: fc.constantFrom("/run/vmnet", "state"),
    owner: fc.constantFrom("vmnet", "a.b_c-1", "x".repeat(64)),
    beforeStep: fc.constant(() => undefined),
  },
  { requiredKeys: ["netns", "mode"] },
);

const edge: fc.Arbitrary<[string, unknown]> = fc.tuple(
  fc.constantFrom(
    "netns",
    "result",
    "cniVersion",
    "mode",
    "vnetHdr",
    "queues",
    "mtu",
    "dhcp",
    "stateDir",
    "owner",
    "beforeStep",
    "taps",
    "masquerade",
    "bogus",
  ),
  fc.constantFrom<unknown>(
    undefined,
    null,
    "",
    "1.0.0",
    "0.4.0",
    "Bridge",
    0,
    1,
    67,
    68,
    256,
    257,
    65535,
    65536,
    1.5,
    -1,
    2 ** 53,
    Number.NaN,
    true,
    "x".repeat(65),
    "bad owner",
    { path: "" },
    { pid: 1 },
    { path: "/p", name: "x" },
    ["tap0"],
    {},
  ),
);

test("options the shortcut takes are the schema's; what the schema refuses it declines", () => {
  let taken = 0;
  let refused = 0;
  fc.assert(
    fc.property(usual, fc.option(edge, { freq: 2 }), (base, change) => {
      const input: Record<string, unknown> = { ...base, ...(change && { [change[0]]: change[1] }) };
      const fast = plainSetupOptions(input);
      const schema = setupOptionsSchema.safeParse(input);
      if (!schema.success) refused++;
      if (fast === undefined) return;
      taken++;
      expect(schema.success).toBe(true);
      // The same fields and values (zod wraps a function: compared by kind).
      const { beforeStep: a, ...fastRest } = fast;
      const { beforeStep: b, ...schemaRest } = schema.data as typeof fast;
      expect(fastRest).toEqual(schemaRest);
      expect(typeof a).toBe(typeof b);
      expect(fast).not.toBe(input);
    }),
    { numRuns: 4000 },
  );
  expect(taken).toBeGreaterThan(1000);
  expect(refused).toBeGreaterThan(500);
});
