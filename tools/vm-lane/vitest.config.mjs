import { sharedTestConfig } from "@vmnet/harness/vitest-config";

// One guest at a time: each is a whole qemu under software emulation.
export default {
  ...sharedTestConfig,
  test: { ...sharedTestConfig.test, poolOptions: { forks: { singleFork: true } }, testTimeout: 600_000 },
};
