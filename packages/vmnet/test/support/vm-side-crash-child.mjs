// A process that sets up a pod's container-side network and is killed (SIGKILL) at a chosen step
// of the setup, or right after it completed: what a crash of the VM runtime leaves behind.
// Usage: node vm-side-crash-child.mjs NETNS RESULT_JSON MODE STATE_DIR KILL_AT   (KILL_AT -1: after)
import { setupContainerSideNetwork } from "../../dist/index.js";

const [netns, result, mode, stateDir, killAt] = process.argv.slice(2);
const at = Number(killAt);
await setupContainerSideNetwork({
  netns,
  result: JSON.parse(result),
  mode,
  stateDir,
  beforeStep: (_step, i) => {
    if (i === at) process.kill(process.pid, "SIGKILL");
  },
});
process.kill(process.pid, "SIGKILL");
