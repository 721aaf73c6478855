import { sharedTestConfig } from "@vmnet/harness/vitest-config";
import { defineConfig, type ViteUserConfig } from "vitest/config";

// The harness declares `reporters` as string[]; vitest's type is a union of reporter names.
export default defineConfig(sharedTestConfig as ViteUserConfig);
