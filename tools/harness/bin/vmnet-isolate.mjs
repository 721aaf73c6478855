#!/usr/bin/env node
// vmnet-isolate COMMAND [ARG...]
//
// Runs COMMAND inside a private network + mount + pid namespace so that no test can touch the
// machine's own interfaces, and so that daemons a test starts (ovsdb-server, ovs-vswitchd) die with
// the run. Inside, /run/netns is a private tmpfs (named netns made by tests vanish with the run
// even after a crash) and loopback is up. Already inside (VMNET_ISOLATED=1): runs COMMAND as is.
// Not root: retries under a user namespace (--user --map-root-user); where that is refused too, runs
// COMMAND unisolated with VMNET_UNPRIVILEGED=1 and a printed reason, and privileged tests skip.
import { spawnSync } from "node:child_process";
import { isolationPlan } from "../src/isolate.mjs";

const argv = process.argv.slice(2);
if (argv[0] === "--") argv.shift();
if (argv.length === 0) {
  process.stderr.write("usage: vmnet-isolate COMMAND [ARG...]\n");
  process.exit(2);
}

const plan = isolationPlan(argv, process.env);
if (plan.notice) process.stderr.write(`vmnet-isolate: ${plan.notice}\n`);
const result = spawnSync(plan.file, plan.args, { stdio: "inherit", env: plan.env });
if (result.error) {
  process.stderr.write(`vmnet-isolate: cannot run ${plan.file}: ${result.error.message}\n`);
  process.exit(127);
}
if (result.signal) process.kill(process.pid, result.signal);
process.exit(result.status ?? 1);
