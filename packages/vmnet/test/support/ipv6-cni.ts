// A dual-stack pod made by the real CNI plugins (bridge + host-local from /usr/lib/cni): a "host"
// netns holding the CNI bridge (the IPv4 and IPv6 gateway, forwarding on) and, behind it, a "far"
// netns; the pod netns gets eth0 with the CNI's addresses. Then the pod is rewired by hand the way
// bridge mode does it (the VM takes eth0's MAC and addresses; eth0 becomes a port of a pod
// bridge next to the VM's cable), so the servers can hand the VM exactly the CNI result.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { execa } from "execa";

export interface CniPod {
  host: TestNetns;
  pod: TestNetns;
  vm: TestNetns;
  far: TestNetns;
  /** The CNI result as the plugin printed it. */
  result: Record<string, unknown>;
  /** The CNI interface's MAC (the VM's now). */
  vmMac: string;
  /** The pod's bridge port cabled to the VM: where the servers listen. */
  podIf: string;
  vmIf: string;
  remove(): Promise<void>;
}

let pods = 0;
const sh = (ns: TestNetns, args: string[]) => execa("ip", ["netns", "exec", ns.name, ...args]);

export const CNI_NET = {
  v4: "10.77.0.0/24",
  v6: "2001:db8:77::/64",
  far4: "10.78.0.2",
  far6: "2001:db8:78::2",
};

export async function cniDualStackPod(): Promise<CniPod> {
  pods += 1;
  const id = `${process.env.VITEST_POOL_ID ?? "0"}x${pods}`;
  const host = await createNetns("c6host");
  const pod = await createNetns("c6pod");
  const vm = await createNetns("c6vm");
  const far = await createNetns("c6far");
  const dir = await mkdtemp(join(tmpdir(), "ipv6-cni-"));
  const all = [host, pod, vm, far];
  const remove = async () => {
    await Promise.all(all.map((n) => n.remove()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const ns of all) {
      await sh(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"]);
      await execa("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
    }
    const conf = {
      cniVersion: "1.0.0",
      name: `v6net${id}`,
      type: "bridge",
      bridge: `cni6b${id}`,
      isGateway: true,
      isDefaultGateway: true,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: CNI_NET.v4 }], [{ subnet: CNI_NET.v6 }]],
        dataDir: join(dir, "ipam"),
      },
    };
    const add = await execa("ip", ["netns", "exec", host.name, "/usr/lib/cni/bridge"], {
      input: JSON.stringify(conf),
      env: {
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: `c${id}`,
        CNI_NETNS: pod.path,
        CNI_IFNAME: "eth0",
        CNI_PATH: "/usr/lib/cni",
      },
    });
    const result = JSON.parse(String(add.stdout)) as Record<string, unknown>;
    // The plugins print an empty dns even when configured; a runtime passes the network's DNS on.
    result.dns = { nameservers: ["10.77.0.53", "2001:db8:77::53"], search: ["svc.cluster.local"] };
    // Beyond the gateway: the far netns, routed through the host.
    await sh(host, ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
    await execa("ip", [
      "-n",
      host.name,
      "link",
      "add",
      "tofar",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      far.name,
    ]);
    await execa("ip", ["-n", host.name, "link", "set", "tofar", "up"]);
    await execa("ip", ["-n", host.name, "addr", "add", "10.78.0.1/24", "dev", "tofar"]);
    await execa("ip", ["-n", host.name, "addr", "add", "2001:db8:78::1/64", "dev", "tofar", "nodad"]);
    await execa("ip", ["-n", far.name, "link", "set", "eth0", "up"]);
    await execa("ip", ["-n", far.name, "addr", "add", `${CNI_NET.far4}/24`, "dev", "eth0"]);
    await execa("ip", ["-n", far.name, "addr", "add", `${CNI_NET.far6}/64`, "dev", "eth0", "nodad"]);
    await execa("ip", ["-n", far.name, "route", "add", "default", "via", "10.78.0.1"]);
    await execa("ip", ["-n", far.name, "-6", "route", "add", "default", "via", "2001:db8:78::1"]);
    const iface = (result.interfaces as { name: string; mac: string; sandbox?: string }[]).find(
      (i) => i.sandbox,
    );
    const vmMac = iface?.mac as string;
    const podIf = `c6v${id}`;
    return { host, pod, vm, far, result, vmMac, podIf, vmIf: "eth0", remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * What a runtime learns before rewiring (the csn helper does this from the pod's neighbour
 * table): the MAC of the CNI's IPv6 gateway, resolved from the pod.
 */
export async function resolveGatewayMac(pod: TestNetns, gateway: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    // The gateway's address may still be tentative (DAD) right after the plugin ran.
    const ping = await execa("ip", ["netns", "exec", pod.name, "ping", "-6", "-c", "1", "-W", "1", gateway], {
      reject: false,
    });
    if (ping.exitCode === 0) break;
    if (Date.now() > deadline) throw new Error(`the gateway ${gateway} does not answer from the pod`);
  }
  const neigh = String(
    (await execa("ip", ["-n", pod.name, "-6", "neigh", "show", gateway, "dev", "eth0"])).stdout,
  );
  const mac = /lladdr ([0-9a-f:]{17})/.exec(neigh)?.[1];
  if (!mac) throw new Error(`no neighbour entry for ${gateway}: ${neigh}`);
  return mac;
}

/** Bridge mode by hand: eth0 loses its addresses and MAC to the VM and becomes a bridge port. */
export async function wireVmByBridge(c: CniPod): Promise<void> {
  const ip = (ns: TestNetns, args: string[]) => execa("ip", ["-n", ns.name, ...args]);
  await ip(c.pod, ["addr", "flush", "dev", "eth0"]);
  await sh(c.pod, [
    "sysctl",
    "-qw",
    "net.ipv6.conf.default.disable_ipv6=1",
    "net.ipv6.conf.eth0.disable_ipv6=1",
  ]);
  await ip(c.pod, ["link", "set", "eth0", "down"]);
  await ip(c.pod, ["link", "set", "eth0", "address", "02:00:00:77:00:02"]);
  await ip(c.pod, ["link", "add", "br0", "type", "bridge"]);
  await ip(c.pod, ["link", "add", c.podIf, "type", "veth", "peer", "name", c.vmIf, "netns", c.vm.name]);
  await ip(c.vm, ["link", "set", c.vmIf, "address", c.vmMac]);
  for (const port of ["eth0", c.podIf]) {
    await ip(c.pod, ["link", "set", port, "master", "br0"]);
    await ip(c.pod, ["link", "set", port, "up"]);
  }
  await ip(c.pod, ["link", "set", "br0", "up"]);
}
