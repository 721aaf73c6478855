// The AF_PACKET socket the DHCPv6 server and the router advertiser listen and transmit on: like the
// DHCPv4 server's (../dhcp/packet-socket.ts), bound for ETH_P_ALL to one device so it sees the
// guest's frames before a bridge or tc redirect takes them, with a kernel BPF filter attached
// before the bind so only the frames the caller wants ever wake the process.
import { type NativeAddon, type NativeDatagramSocket, native } from "@vmnet/netlink-native";
import { type FramesHandler, sockaddrLl } from "../dhcp/packet-socket.js";
import { ETHERTYPE_IPV6 } from "./frame6.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;

type Addon = NativeAddon & {
  openSocket?: (domain: number, type: number, protocol: number, netnsPath: string) => Promise<number>;
};

export async function openIpv6PacketSocket(
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
    socket.attachFilter(filter);
    socket.bind(sockaddrLl(ifindex, ETH_P_ALL));
    try {
      socket.setOption(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    } catch {}
    socket.start();
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/** Where a built frame goes: out of `ifindex`, to `mac`. */
export function ipv6Destination(ifindex: number, mac: Uint8Array): Buffer {
  return sockaddrLl(ifindex, ETHERTYPE_IPV6, mac);
}
