// The AF_PACKET socket a DHCP server listens and transmits on: opened inside the server's netns
// through the addon (on libuv's pool when the addon offers it, so setns never runs on the event
// loop), bound to one device for IPv4 frames only, and deaf to the frames it sends itself.
import { type NativeAddon, type NativeDatagramSocket, native } from "@vmnet/netlink-native";
import { dhcpServerFilter } from "./socket-filter.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_IP = 0x0800;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;

/** struct sockaddr_ll (20 bytes): family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]. */
export function sockaddrLl(ifindex: number, protocol: number, mac?: Uint8Array): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16LE(AF_PACKET, 0);
  b.writeUInt16BE(protocol, 2);
  b.writeInt32LE(ifindex, 4);
  if (mac) {
    b[11] = 6;
    b.set(mac.subarray(0, 6), 12);
  }
  return b;
}

type Addon = NativeAddon & {
  openSocket?: (domain: number, type: number, protocol: number, netnsPath: string) => Promise<number>;
};

export type FramesHandler = (error: Error | null, data: Buffer, lengths: Uint32Array) => void;

/**
 * Opens the socket with protocol 0 (it receives nothing until bound), then binds it to the
 * device, so no frame of another device is ever queued on it. Bound for ETH_P_ALL, not ETH_P_IP:
 * the kernel hands a received frame to ETH_P_ALL sockets before a bridge port's rx handler and
 * before tc ingress, but to protocol-bound sockets only after them, so on a TAP enslaved to a
 * bridge, or redirected by tc mirred, an ETH_P_IP socket never sees the guest's DISCOVER.
 * `filter`, a classic BPF program in the kernel, keeps every frame the caller does not want off
 * it (DHCPv4 requests here; DHCPv6 and neighbour discovery for the IPv6 servers).
 */
export async function openFilteredPacketSocket(
  netnsPath: string,
  ifindex: number,
  filter: Buffer,
  onFrames: FramesHandler,
): Promise<NativeDatagramSocket> {
  const addon = native() as Addon;
  const where: string | number = addon.openSocket
    ? await addon.openSocket(AF_PACKET, SOCK_RAW, 0, netnsPath)
    : netnsPath;
  let socket: NativeDatagramSocket;
  try {
    socket = new addon.DatagramSocket(AF_PACKET, SOCK_RAW, 0, where as string, onFrames, false);
  } catch (error) {
    if (typeof where === "number") addon.closeFd(where);
    throw error;
  }
  try {
    // The filter goes on before the bind: nothing is queued on the socket until it is bound, so
    // no frame ever reaches it unfiltered, and only wanted frames wake the process.
    socket.attachFilter(filter);
    socket.bind(sockaddrLl(ifindex, ETH_P_ALL));
    try {
      // Linux >= 4.20; without it our own replies come back and are ignored as not-for-us.
      socket.setOption(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    } catch {}
    socket.start();
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/** The DHCPv4 server's socket: only DHCP requests pass its filter (socket-filter.ts). */
export function openPacketSocket(
  netnsPath: string,
  ifindex: number,
  onFrames: FramesHandler,
): Promise<NativeDatagramSocket> {
  return openFilteredPacketSocket(netnsPath, ifindex, dhcpServerFilter(), onFrames);
}

export function ipv4Destination(ifindex: number, mac: Uint8Array): Buffer {
  return sockaddrLl(ifindex, ETH_P_IP, mac);
}
