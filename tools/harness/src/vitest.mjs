// vitest fixtures: `netnsTest` gives each test its own named netns, removed even when it fails;
// `privileged` is describe/test that skip with one printed reason where namespaces are refused.
import { describe, test } from "vitest";
import { createNetns, privilegeGap, skipBecause } from "./index.mjs";

export const netnsTest = test.extend({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies this way
  netns: async ({}, use) => {
    const ns = await createNetns();
    try {
      await use(ns);
    } finally {
      await ns.remove();
    }
  },
});

/** describe() that runs only with namespace privileges, printing why it skips otherwise. */
export function describePrivileged(name, fn) {
  const skip = skipBecause(`"${name}"`, privilegeGap());
  return describe.skipIf(skip)(name, fn);
}
