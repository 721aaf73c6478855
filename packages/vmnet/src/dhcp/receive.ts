// One received frame -> what to do: ignore it (the guest's other traffic), drop it (with the
// reason to count), take note (RELEASE, DECLINE) or send a reply frame. No I/O: the server feeds
// it frames and acts on the outcome, and the fuzz tests feed it anything at all.
import { buildFrame, parseFrame } from "./frame.js";
import { BROADCAST_MAC } from "./mac.js";
import { DhcpDecodeError } from "./options.js";
import {
  BOOTREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  type DhcpMessage,
  decodeDhcpMessage,
  type MessageTypeName,
  messageTypeName,
} from "./packet.js";
import { decideReply, type ReplyDecision } from "./reply.js";
import type { ServedLease } from "./served-lease.js";
import type { DhcpDropReason } from "./types.js";

/** The device a frame came in on: its MAC (source of replies) and its clients by MAC (hex). */
export interface Listener<C extends { served: ServedLease }> {
  mac: Buffer;
  clients: ReadonlyMap<string, C>;
}

export type ReceiveOutcome<C> =
  | { kind: "ignored" }
  | { kind: "dropped"; reason: DhcpDropReason; client?: C; detail?: string; received?: MessageTypeName }
  | { kind: "noted"; client: C; received: MessageTypeName; event: "release" | "decline"; address: number }
  | {
      kind: "reply";
      client: C;
      received: MessageTypeName;
      decision: Extract<ReplyDecision, { action: "reply" }>;
      frame: Buffer;
    };

/**
 * Handles one frame. `admit(client)` is asked once the sender is known to be a client (the
 * server's per-client rate limit); false drops the frame as "rate-limited".
 */
export function receiveFrame<C extends { served: ServedLease }>(
  frame: Buffer,
  listener: Listener<C>,
  admit: (client: C) => boolean = () => true,
): ReceiveOutcome<C> {
  const parsed = parseFrame(frame);
  if (parsed.kind === "ignore") return { kind: "ignored" };
  // Until the message is decoded, the Ethernet source says which guest sent it.
  const sender = frame.length >= 12 ? listener.clients.get(frame.subarray(6, 12).toString("hex")) : undefined;
  const dropped = (
    reason: DhcpDropReason,
    client: C | undefined,
    detail?: string,
  ): Extract<ReceiveOutcome<C>, { kind: "dropped" }> => ({
    kind: "dropped",
    reason,
    ...(client !== undefined && { client }),
    ...(detail !== undefined && { detail }),
  });
  if (parsed.kind === "drop") return dropped(parsed.reason, sender);
  const { datagram } = parsed;
  let message: DhcpMessage;
  try {
    message = decodeDhcpMessage(datagram.payload);
  } catch (e) {
    if (e instanceof DhcpDecodeError) return dropped(e.reason, sender, e.message);
    throw e;
  }
  if (message.op !== BOOTREQUEST) return dropped("not-request", sender);
  if (message.htype !== 1 || message.hlen !== 6) return dropped("not-ethernet-chaddr", sender);
  const client = listener.clients.get(message.chaddr.subarray(0, 6).toString("hex"));
  if (!client) return dropped("unknown-client", undefined, macText(message.chaddr));
  // A relay would set giaddr; there is none between a guest and its TAP.
  if (message.giaddr !== 0) return dropped("relayed", client);
  // Every message costs a decision and maybe a reply: a flooding guest gets a bounded share.
  if (!admit(client)) return dropped("rate-limited", client);
  const received = messageTypeName(message.messageType);
  if (received === undefined || received === "offer" || received === "ack" || received === "nak") {
    return dropped("unexpected-type", client, `message type ${message.messageType}`);
  }
  const decision = decideReply(message, datagram.dstIp, client.served);
  if (decision.action === "drop") return { ...dropped(decision.reason, client, decision.detail), received };
  if (decision.action === "note") {
    return { kind: "noted", client, received, event: decision.event, address: decision.address };
  }
  const out = buildFrame({
    srcMac: listener.mac,
    dstMac: decision.destination.broadcast ? BROADCAST_MAC : client.served.clientMac,
    srcIp: client.served.serverId,
    dstIp: decision.destination.ip,
    srcPort: DHCP_SERVER_PORT,
    dstPort: DHCP_CLIENT_PORT,
    payload: decision.payload,
  });
  return { kind: "reply", client, received, decision, frame: out };
}

function macText(chaddr: Buffer): string {
  return [...chaddr.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
