// The vitest settings every package shares. Forks, not threads: a netns entered by native code
// must never leak into a worker thread that shares the process.
export const sharedTestConfig = {
  test: {
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ["test/**/*.test.ts"],
    reporters: ["default"],
  },
};
