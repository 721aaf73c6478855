// One received frame -> a Router Solicitation or a Neighbor Solicitation to answer (validated as
// RFC 4861 6.1.1 and 7.1.1 require), a frame to ignore, or a drop with its reason. Pure.
import { IPPROTO_ICMPV6, parseIpv6Frame, upperLayerChecksum } from "../dhcp6/frame6.js";
import { isMulticast, isUnspecified } from "../dhcp6/ipv6.js";
import { decodeNdOptions, ICMP6, ND_OPTION } from "./advert.js";
import type { RaDropReason } from "./types.js";

export type NdReceived =
  | { kind: "ignored" }
  | { kind: "dropped"; reason: RaDropReason }
  | { kind: "rs"; srcMac: Buffer; srcIp: Buffer }
  | { kind: "ns"; srcMac: Buffer; srcIp: Buffer; target: Buffer };

const ours = (protocol: number, upper: Buffer) =>
  protocol === IPPROTO_ICMPV6 &&
  (upper[0] === ICMP6.routerSolicitation || upper[0] === ICMP6.neighborSolicitation);

export function receiveNd(frame: Buffer): NdReceived {
  const parsed = parseIpv6Frame(frame, ours);
  if (parsed.kind === "ignore") return { kind: "ignored" };
  if (parsed.kind === "drop") return { kind: "dropped", reason: parsed.reason };
  const { packet } = parsed;
  if (!ours(packet.protocol, packet.upper)) return { kind: "ignored" };
  const icmp = packet.upper;
  const type = icmp[0] as number;
  const minimum = type === ICMP6.routerSolicitation ? 8 : 24;
  if (icmp.length < minimum) return { kind: "dropped", reason: "truncated" };
  // ICMPv6 is checksummed in full by the sender's kernel (no offload), so it can be checked.
  if (upperLayerChecksum(packet.srcIp, packet.dstIp, IPPROTO_ICMPV6, icmp) !== 0)
    return { kind: "dropped", reason: "bad-checksum" };
  // 255 proves the sender is on the link: no router forwarded it.
  if (packet.hopLimit !== 255) return { kind: "dropped", reason: "bad-hop-limit" };
  if (icmp[1] !== 0) return { kind: "dropped", reason: "bad-code" };
  const options = decodeNdOptions(icmp.subarray(minimum));
  if (!options) return { kind: "dropped", reason: "bad-option" };
  const unspecified = isUnspecified(packet.srcIp);
  if (isMulticast(packet.srcIp)) return { kind: "dropped", reason: "bad-ip-header" };
  const lladdr = options.some((o) => o.type === (ND_OPTION.sourceLinkLayer as number));
  if (unspecified && lladdr) return { kind: "dropped", reason: "unspecified-source-with-lladdr" };
  if (type === ICMP6.routerSolicitation) return { kind: "rs", srcMac: packet.srcMac, srcIp: packet.srcIp };
  const target = icmp.subarray(8, 24);
  if (isMulticast(target)) return { kind: "dropped", reason: "multicast-target" };
  return { kind: "ns", srcMac: packet.srcMac, srcIp: packet.srcIp, target };
}
