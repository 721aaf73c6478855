import { sharedTestConfig } from "@vmnet/harness/vitest-config";
import { defineConfig } from "vitest/config";

// --expose-gc: the lifetime tests compare the heap after a forced collection.
export default defineConfig({
  ...sharedTestConfig,
  test: { ...sharedTestConfig.test, poolOptions: { forks: { execArgv: ["--expose-gc"] } } },
});
