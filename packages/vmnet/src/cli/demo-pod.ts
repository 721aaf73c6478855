// Part 2 of `vmnet demo`: Virtlet's side. The real CNI bridge plugin makes a pod netns; a
// ContainerSideNetwork hands its interface to a "VM" (a netns behind a frame relay on the TAP),
// and udhcpc on the VM side must get exactly the address the CNI plugin assigned.
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseResult, toCurrent } from "@vmnet/cni-result";
import { execa } from "execa";
import { setupContainerSideNetwork } from "../container/setup.js";
import { type Cleanup, netns } from "./demo-kit.js";
import { startVmRelay } from "./vm-relay.js";

const CNI_PATH = "/usr/lib/cni";

export async function runPod(cleanup: Cleanup, prefix: string, log: (l: string) => void): Promise<string> {
  try {
    await access(join(CNI_PATH, "bridge"));
  } catch {
    log("  (skipped: the CNI plugins are not installed: apt-get install containernetworking-plugins)");
    return "skipped (no CNI plugins)";
  }
  const node = await netns(cleanup, `${prefix}-node`);
  const pod = await netns(cleanup, `${prefix}-pod`);
  const vm = await netns(cleanup, `${prefix}-vm`);
  const dir = await mkdtemp(join(tmpdir(), "vmnet-demo-cni-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const config = JSON.stringify({
    cniVersion: "1.0.0",
    name: "vmnet-demo-pods",
    type: "bridge",
    bridge: "cni-demo0",
    isGateway: true,
    ipam: {
      type: "host-local",
      subnet: "10.88.0.0/24",
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir: join(dir, "ipam"),
    },
  });
  const cni = (command: "ADD" | "DEL") =>
    execa("ip", ["netns", "exec", node, join(CNI_PATH, "bridge")], {
      input: config,
      reject: false,
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: `${prefix}-pod`,
        CNI_NETNS: `/run/netns/${pod}`,
        CNI_IFNAME: "eth0",
        CNI_PATH,
      },
    });
  const add = await cni("ADD");
  if (add.exitCode !== 0) throw new Error(`CNI bridge ADD failed: ${add.stdout || add.stderr}`);
  cleanup.push(() => cni("DEL"));
  const result = toCurrent(parseResult(add.stdout));
  const cniAddress = result.ips?.[0]?.address ?? "";
  log(
    `pod netns ${pod}: CNI ${result.cniVersion} bridge plugin gave eth0 ${cniAddress} gateway ${result.ips?.[0]?.gateway}`,
  );

  const csn = await setupContainerSideNetwork({
    netns: pod,
    mode: "bridge",
    result,
    stateDir: join(dir, "state"),
  });
  cleanup.push(() => csn.teardown());
  const iface = csn.interfaces[0];
  if (!iface) throw new Error("ContainerSideNetwork handed out no interface");
  log(
    `ContainerSideNetwork (bridge mode): ${iface.name} -> TAP ${iface.tap.name}, VM MAC ${iface.hardwareAddr}, DHCP serving`,
  );

  // The VM side: eth0 with the VM's MAC, its peer relayed to the TAP.
  const ip = (args: string[]) => execa("ip", ["-n", vm, ...args]);
  await ip(["link", "add", "eth0", "type", "veth", "peer", "name", "relay0"]);
  await ip(["link", "set", "eth0", "address", iface.hardwareAddr]);
  await execa("ip", ["netns", "exec", vm, "sysctl", "-qw", "net.ipv6.conf.relay0.disable_ipv6=1"]);
  await ip(["link", "set", "eth0", "up"]);
  await ip(["link", "set", "relay0", "up"]);
  const relay = await startVmRelay({
    podNetns: pod,
    tap: iface.tap.name,
    tapFd: iface.tap.fds[0] as number,
    vmNetns: vm,
    relayIface: "relay0",
  });
  cleanup.push(() => relay.stop());
  const script = join(dir, "udhcpc.script");
  await writeFile(script, '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip $mask $router"\nexit 0\n', {
    mode: 0o755,
  });
  const dhcp = await execa(
    "ip",
    ["netns", "exec", vm, "udhcpc", "-f", "-q", "-n", "-i", "eth0", "-t", "5", "-T", "1", "-s", script],
    { reject: false, timeout: 20_000 },
  );
  const bound = /BOUND (\S+) (\S+) ?(\S*)/.exec(String(dhcp.stdout));
  const got = bound ? `${bound[1]}/${bound[2]}` : undefined;
  const want = cniAddress;
  const exact = got === want;
  log(
    `udhcpc on the VM side: ${got ? `got ${got} router ${bound?.[3] || "-"}` : "no lease"}; CNI assigned ${want}: ${exact ? "exactly the CNI address" : "MISMATCH"}`,
  );
  if (!exact) throw new Error(`the VM side got ${got ?? "no lease"}, the CNI assigned ${want}`);
  return `VM got ${got} by DHCP = CNI address`;
}
