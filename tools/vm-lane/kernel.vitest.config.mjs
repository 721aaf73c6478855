// The full-kernel lane: these tests run inside the guest kernel (tools/vm-lane), never on the host.
export default {
  test: {
    pool: "forks",
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 300_000,
    hookTimeout: 120_000,
    include: ["kernel/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: process.env.VMNET_LANE_REPORT ?? "/tmp/kernel-lane.json" },
  },
};
