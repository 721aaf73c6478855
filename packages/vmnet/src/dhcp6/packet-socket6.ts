// The AF_PACKET socket the DHCPv6 server and the router advertiser listen and transmit on: the
// DHCPv4 server's kind (../dhcp/packet-socket.ts), bound for ETH_P_ALL to one device so it sees the
// guest's frames before a bridge or tc redirect takes them, with the caller's kernel BPF filter.
import type { NativeDatagramSocket } from "@vmnet/netlink-native";
import { type FramesHandler, openFilteredPacketSocket, sockaddrLl } from "../dhcp/packet-socket.js";
import { ETHERTYPE_IPV6 } from "./frame6.js";

export function openIpv6PacketSocket(
  netnsPath: string,
  ifindex: number,
  filter: Buffer,
  onFrames: FramesHandler,
): Promise<NativeDatagramSocket> {
  return openFilteredPacketSocket(netnsPath, ifindex, filter, onFrames);
}

/** Where a built frame goes: out of `ifindex`, to `mac`. */
export function ipv6Destination(ifindex: number, mac: Uint8Array): Buffer {
  return sockaddrLl(ifindex, ETHERTYPE_IPV6, mac);
}
