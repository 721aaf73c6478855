import { sharedTestConfig } from "@vmnet/harness/vitest-config";
import { defineConfig } from "vitest/config";

export default defineConfig(sharedTestConfig);
