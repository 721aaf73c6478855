import type { TestAPI } from "vitest";
import type { TestNetns } from "./index.js";

export declare const netnsTest: TestAPI<{ netns: TestNetns }>;
export declare function describePrivileged(name: string, fn: () => void): void;
