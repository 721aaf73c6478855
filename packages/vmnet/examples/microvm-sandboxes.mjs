#!/usr/bin/env node
// microVM sandboxes, the Firecracker / Cloud Hypervisor way: one network namespace and one TAP per
// microVM, in masquerade mode (the VM gets 10.0.2.2/24 by DHCP and is NATed to the sandbox's
// address) with a tc-qos egress limit on the TAP, N sandboxes set up and torn down from one
// process. Prints the time each sandbox took to set up and to tear down.
//
//   node examples/microvm-sandboxes.mjs [N]        (root; N defaults to 50)
//
// The sandboxes' "CNI" interfaces are veths onto a bridge in a "node" namespace (10.123.0.1/16),
// as a ptp or bridge plugin would leave them. The VMM (firecracker --config-file, or
// cloud-hypervisor --net fd=...) would take `sandbox.csn.interfaces[0].tap.fds[0]`.
import { pathToFileURL } from "node:url";
import { createNetns, deleteNetns, Rtnl } from "@vmnet/netlink-native";
import { applyQos } from "@vmnet/tc-qos";
import { setupContainerSideNetwork } from "@vmnet/vmnet";

/** The node: a netns with a bridge the sandboxes' veths hang from (what CNI gives a real host). */
export async function createNode(name) {
  await createNetns(name);
  const rtnl = await Rtnl.open({ netns: name });
  await rtnl.links.add({ kind: "bridge", name: "node0", up: true });
  await rtnl.addresses.add("node0", "10.123.0.1/16");
  return { name, rtnl };
}

/** A sandbox netns with eth0 (10.123.x.y/16, default route via the node), as CNI leaves it. */
export async function createSandbox(node, i) {
  const netns = `${node.name}-sb${i}`;
  await createNetns(netns);
  const host = `sbv${i}`;
  await node.rtnl.links.add({
    kind: "veth",
    name: host,
    master: "node0",
    up: true,
    peer: { name: "eth0", netns },
  });
  const rtnl = await Rtnl.open({ netns });
  try {
    const address = `10.123.${1 + (i >> 8)}.${1 + (i & 0xff)}`;
    await rtnl.links.up("lo");
    await rtnl.links.up("eth0");
    await rtnl.addresses.add("eth0", `${address}/16`);
    await rtnl.routes.add({ dst: "0.0.0.0/0", gateway: "10.123.0.1", dev: "eth0" });
    return { netns, address };
  } finally {
    rtnl.close();
  }
}

/** Wires one microVM: masquerade mode, then an egress limit on its TAP. */
export async function wireMicroVm(sandbox, { rate = "100mbit", stateDir, forwardPorts } = {}) {
  const csn = await setupContainerSideNetwork({
    netns: sandbox.netns,
    mode: "masquerade",
    ...(forwardPorts && { masquerade: { forwardPorts } }),
    ...(stateDir && { stateDir }),
  });
  try {
    await applyQos(csn.interfaces[0].tap.name, { rate }, { netns: sandbox.netns });
  } catch (e) {
    await csn.teardown();
    throw e;
  }
  return csn;
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    median: q(0.5),
    p95: q(0.95),
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
};

/** Sets up `n` sandboxes one after the other, then tears them down; returns the timings in ms. */
/** `onCreated`, `onReady`, `onTornDown` (optional) are called with the sandboxes at each stage. */
export async function runSandboxes(
  n,
  { prefix = `mvm${process.pid}`, stateDir, onCreated, onReady, onTornDown } = {},
) {
  const node = await createNode(prefix);
  const sandboxes = [];
  try {
    for (let i = 0; i < n; i++) sandboxes.push(await createSandbox(node, i));
    if (onCreated) await onCreated(sandboxes);
    const setup = [];
    for (const sandbox of sandboxes) {
      const t0 = process.hrtime.bigint();
      sandbox.csn = await wireMicroVm(sandbox, { stateDir });
      setup.push(ms(t0));
    }
    if (onReady) await onReady(sandboxes);
    const teardown = [];
    for (const sandbox of sandboxes) {
      const t0 = process.hrtime.bigint();
      await sandbox.csn.teardown();
      sandbox.csn = undefined;
      teardown.push(ms(t0));
    }
    if (onTornDown) await onTornDown(sandboxes);
    return { setup: stats(setup), teardown: stats(teardown), setupMs: setup, teardownMs: teardown };
  } finally {
    for (const sandbox of sandboxes) {
      await sandbox.csn?.teardown().catch(() => undefined);
      await deleteNetns(sandbox.netns);
    }
    node.rtnl.close();
    await deleteNetns(node.name);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 50);
  const r = await runSandboxes(n);
  const f = (s) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
  console.log(`${n} microVM sandboxes (masquerade + tbf egress limit on the TAP)`);
  console.log(`  setup per sandbox:    ${f(r.setup)}`);
  console.log(`  teardown per sandbox: ${f(r.teardown)}`);
}
