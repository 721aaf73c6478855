// `vmnet demo`: the embedded default end to end, in private namespaces. Part 1 is the lab
// (minimega's side, demo-lab.ts); part 2 the pod (Virtlet's side, demo-pod.ts). Everything made is
// removed afterwards, also on failure. Nothing touches the machine's own interfaces.
import { Cleanup } from "./demo-kit.js";
import { runLab } from "./demo-lab.js";
import { runPod } from "./demo-pod.js";

export async function runDemo(log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const cleanup = new Cleanup();
  const prefix = `vmnet-demo-${process.pid}`;
  try {
    log("== part 1: a lab (bridges, taps, VLANs, trunk, mirror, capture, QoS, NetFlow, snooping) ==");
    const lab = await runLab(cleanup, prefix, log);
    const wrong = lab.reachability.filter((r) => r.reached !== r.expected);
    if (wrong.length)
      throw new Error(`the switch did not isolate VLANs as configured: ${JSON.stringify(wrong)}`);
    if (lab.capturedPackets === 0) throw new Error("the capture saw no packets");
    if (lab.netflowRecords === 0) throw new Error("no NetFlow records arrived");
    log("== part 2: a pod (CNI bridge plugin, ContainerSideNetwork, DHCP to the VM side) ==");
    const pod = await runPod(cleanup, prefix, log);
    await cleanup.run();
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    return `vmnet demo: OK in ${seconds} s (lab: ${lab.reachability.length} reachability checks, rate ${(
      (lab.rate.measuredBps ?? 0) / 1e6
    ).toFixed(
      1,
    )}/20 Mbit/s, ${lab.capturedPackets} packets captured, ${lab.netflowRecords} NetFlow records; pod: ${pod}; everything removed)`;
  } finally {
    await cleanup.run();
  }
}
