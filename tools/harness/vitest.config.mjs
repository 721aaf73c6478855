import { defineConfig } from "vitest/config";
import { sharedTestConfig } from "./src/vitest-config.mjs";

export default defineConfig(sharedTestConfig);
