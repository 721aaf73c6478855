// The MAC of a CNI interface's IPv6 gateway, learned in the pod before wiring: the router
// advertisements the VM gets must name the real gateway's MAC (bridge and tc-filter modes), and
// once the interface is stripped the pod can no longer ask. Read from the neighbour table; when
// the gateway is not there yet, one UDP datagram to its discard port (sent from a socket opened
// inside the pod's netns, no process) makes the kernel resolve it.
import { native, type Rtnl } from "@vmnet/netlink-native";
import { parseIpv6 } from "../dhcp6/index.js";
import { VmnetError } from "../errors.js";

const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const IPPROTO_UDP = 17;
const USABLE = new Set(["reachable", "stale", "delay", "probe", "permanent", "noarp"]);

const bytesOf = (a: string) => parseIpv6(a) ?? Buffer.alloc(16);
const same = (a: string, b: string) => bytesOf(a).equals(bytesOf(b));

function sockaddrIn6(address: string, port: number, scopeId: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  bytesOf(address).copy(b, 8);
  b.writeUInt32LE(scopeId, 24);
  return b;
}

async function lookup(rtnl: Rtnl, index: number, gateway: string): Promise<string | undefined> {
  const entries = await rtnl.neighbours.list({ link: index, family: "inet6" });
  const hit = entries.find((n) => same(n.address, gateway) && n.mac && USABLE.has(String(n.state)));
  return hit?.mac;
}

/** The gateway's MAC (waits up to `timeoutMs` for neighbour discovery). */
export async function learnGatewayMac(
  path: string,
  rtnl: Rtnl,
  link: { index: number; name: string },
  gateway: string,
  timeoutMs = 3000,
): Promise<string> {
  const known = await lookup(rtnl, link.index, gateway);
  if (known) return known;
  const addon = native();
  const fd = await addon.openSocket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, path);
  const socket = new addon.DatagramSocket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, fd, () => undefined);
  try {
    const scope = gateway.toLowerCase().startsWith("fe80:") ? link.index : 0;
    await socket.send(Buffer.from([0]), sockaddrIn6(gateway, 9, scope)).catch(() => undefined);
    for (let waited = 0; waited < timeoutMs; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
      const mac = await lookup(rtnl, link.index, gateway);
      if (mac) return mac;
    }
  } finally {
    await socket.close();
  }
  throw new VmnetError(`the IPv6 gateway ${gateway} of ${link.name} did not answer neighbour discovery`);
}
