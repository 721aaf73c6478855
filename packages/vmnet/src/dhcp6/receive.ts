// One received frame -> ignore it (the guest's other traffic), drop it (with a counted reason), or
// a reply frame to send. No I/O: the server feeds it frames, the fuzz tests feed it anything.
import { buildIpv6Frame, IPPROTO_UDP, parseIpv6Frame, udpDatagram } from "./frame6.js";
import { ALL_DHCP_AGENTS, isMulticast, isUnspecified } from "./ipv6.js";
import { Dhcp6DecodeError, type Dhcp6Message, decodeDhcp6Message } from "./message.js";
import { CLIENT_MESSAGES, type Decision6, decideReply6 } from "./reply.js";
import type { ServedLease6 } from "./served-lease.js";
import type { Dhcp6DropReason, Dhcp6MessageName } from "./types.js";

export const DHCP6_CLIENT_PORT = 546;
export const DHCP6_SERVER_PORT = 547;

export interface Listener6<C extends { served: ServedLease6; source: Buffer }> {
  mac: Buffer;
  duid: Buffer;
  clients: ReadonlyMap<string, C>;
}

export type Receive6Outcome<C> =
  | { kind: "ignored" }
  | { kind: "dropped"; reason: Dhcp6DropReason; client?: C; detail?: string; received?: Dhcp6MessageName }
  | {
      kind: "reply";
      client: C;
      received: Dhcp6MessageName;
      decision: Extract<Decision6, { action: "reply" }>;
      frame: Buffer;
    };

const isDhcp6Request = (protocol: number, upper: Buffer) =>
  protocol === IPPROTO_UDP && upper.length >= 4 && upper.readUInt16BE(2) === DHCP6_SERVER_PORT;

export function receiveFrame6<C extends { served: ServedLease6; source: Buffer }>(
  frame: Buffer,
  listener: Listener6<C>,
  admit: (client: C) => boolean = () => true,
): Receive6Outcome<C> {
  const parsed = parseIpv6Frame(frame, isDhcp6Request);
  const sender = frame.length >= 12 ? listener.clients.get(frame.subarray(6, 12).toString("hex")) : undefined;
  const dropped = (
    reason: Dhcp6DropReason,
    client: C | undefined,
    detail?: string,
    received?: Dhcp6MessageName,
  ): Receive6Outcome<C> => ({
    kind: "dropped",
    reason,
    ...(client !== undefined && { client }),
    ...(detail !== undefined && { detail }),
    ...(received !== undefined && { received }),
  });
  if (parsed.kind === "ignore") return { kind: "ignored" };
  if (parsed.kind === "drop") return dropped(parsed.reason, sender);
  const { packet } = parsed;
  if (!isDhcp6Request(packet.protocol, packet.upper)) return { kind: "ignored" };
  const udp = packet.upper;
  if (udp.length < 8) return dropped("bad-udp-length", sender);
  const udpLength = udp.readUInt16BE(4);
  if (udpLength < 8 || udpLength > udp.length) return dropped("bad-udp-length", sender);
  // The UDP checksum is not verified, for the reason the DHCPv4 server gives (frame.ts): a packet
  // socket may see a guest's datagram before checksum offload completes it.
  // Clients send to All_DHCP_Relay_Agents_and_Servers; vmnet offers no unicast option, so a
  // unicast DHCPv6 message on the device is someone else's business.
  if (!packet.dstIp.equals(ALL_DHCP_AGENTS)) return dropped("not-multicast", sender);
  if (isMulticast(packet.srcIp) || isUnspecified(packet.srcIp)) return dropped("bad-source", sender);
  let message: Dhcp6Message;
  try {
    message = decodeDhcp6Message(udp.subarray(8, udpLength));
  } catch (e) {
    if (e instanceof Dhcp6DecodeError) return dropped(e.reason, sender, e.message);
    throw e;
  }
  const received = CLIENT_MESSAGES.get(message.type);
  if (!sender) return dropped("unknown-client", undefined, macText(packet.srcMac), received);
  if (!admit(sender)) return dropped("rate-limited", sender, undefined, received);
  let decision: Decision6;
  try {
    decision = decideReply6(message, sender.served, listener.duid);
  } catch (e) {
    if (e instanceof Dhcp6DecodeError) return dropped(e.reason, sender, e.message, received);
    throw e;
  }
  if (decision.action === "drop") return dropped(decision.reason, sender, decision.detail, received);
  const out = buildIpv6Frame({
    srcMac: listener.mac,
    dstMac: packet.srcMac,
    srcIp: sender.source,
    dstIp: packet.srcIp,
    hopLimit: 255,
    protocol: IPPROTO_UDP,
    upper: udpDatagram(DHCP6_SERVER_PORT, DHCP6_CLIENT_PORT, decision.payload),
  });
  return { kind: "reply", client: sender, received: received as Dhcp6MessageName, decision, frame: out };
}

function macText(mac: Buffer): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
