// What the server does with one request from a known client: reply (OFFER, ACK or NAK), take note
// (RELEASE, DECLINE), or drop it with a reason. Pure: a decoded request and a served lease in,
// a decision with the reply's bytes and destination out (RFC 2131 sections 4.1 and 4.3).

import { broadcastOf, formatIpv4, IPV4_BROADCAST, type Ipv4 } from "./ipv4.js";
import { encodedOptionLength, OPTION, u32 } from "./options.js";
import {
  BOOTREPLY,
  BROADCAST_FLAG,
  type DhcpMessage,
  encodeDhcpMessage,
  HEADER_LENGTH,
  MESSAGE_TYPE,
} from "./packet.js";
import type { ServedLease } from "./served-lease.js";
import type { DhcpDropReason, RequestState } from "./types.js";

/** Where a reply goes: an IP and whether the frame is an Ethernet broadcast or to the client's MAC. */
export interface ReplyDestination {
  ip: Ipv4;
  broadcast: boolean;
}

export type ReplyDecision =
  | {
      action: "reply";
      type: "offer" | "ack" | "nak";
      state?: RequestState | "inform";
      /** For a NAK: why, in words (also sent to the client as option 56). */
      reason?: string;
      /** The address asked for (NAK) or given (OFFER/ACK). */
      address: Ipv4;
      payload: Buffer;
      destination: ReplyDestination;
    }
  | { action: "note"; event: "release" | "decline"; address: Ipv4 }
  | { action: "drop"; reason: DhcpDropReason; detail?: string };

/** Smallest reply buffer a client must accept (RFC 2131: 576-byte datagrams). */
const DEFAULT_MAX_MESSAGE = 576;
const IP_UDP_HEADERS = 28;

function optionIpv4(m: DhcpMessage, code: number): Ipv4 | undefined | "bad" {
  const v = m.options.get(code);
  if (v === undefined) return undefined;
  return v.length === 4 ? v.readUInt32BE(0) : "bad";
}

/** Tells the four DHCPREQUEST states apart by their fields (RFC 2131 4.3.2 table). */
export function requestState(
  m: DhcpMessage,
  serverIdOption: Ipv4 | undefined,
  requested: Ipv4 | undefined,
  dstIp: Ipv4,
  lease: ServedLease,
): RequestState | undefined {
  if (serverIdOption !== undefined) return "selecting";
  if (requested !== undefined) return "init-reboot";
  if (m.ciaddr === 0) return undefined;
  const broadcast = dstIp === IPV4_BROADCAST || dstIp === broadcastOf(lease.address, lease.prefixLength);
  return broadcast ? "rebinding" : "renewing";
}

/**
 * Decides the answer to `m`, which came from the lease's client (chaddr matched) to `dstIp`
 * (the IP destination tells a renewing client, which unicasts, from a rebinding one).
 */
export function decideReply(m: DhcpMessage, dstIp: Ipv4, lease: ServedLease): ReplyDecision {
  const serverIdOption = optionIpv4(m, OPTION.SERVER_ID);
  const requested = optionIpv4(m, OPTION.REQUESTED_ADDRESS);
  if (serverIdOption === "bad")
    return { action: "drop", reason: "bad-option", detail: "option 54 is not 4 bytes" };
  if (requested === "bad")
    return { action: "drop", reason: "bad-option", detail: "option 50 is not 4 bytes" };
  if (serverIdOption !== undefined && serverIdOption !== lease.serverId) {
    return { action: "drop", reason: "other-server", detail: `for server ${formatIpv4(serverIdOption)}` };
  }
  switch (m.messageType) {
    case MESSAGE_TYPE.DISCOVER:
      return reply(m, lease, "offer", undefined, lease.address);
    case MESSAGE_TYPE.REQUEST: {
      const state = requestState(m, serverIdOption, requested, dstIp, lease);
      if (state === undefined) return { action: "drop", reason: "request-without-address" };
      const asked = state === "selecting" || state === "init-reboot" ? requested : m.ciaddr;
      if (asked === undefined) return { action: "drop", reason: "request-without-address" };
      if (asked !== lease.address) {
        return reply(
          m,
          lease,
          "nak",
          state,
          asked,
          `address ${formatIpv4(asked)} is not this client's lease`,
        );
      }
      return reply(m, lease, "ack", state, lease.address);
    }
    case MESSAGE_TYPE.INFORM:
      return reply(m, lease, "ack", "inform", m.ciaddr);
    case MESSAGE_TYPE.DECLINE: {
      if (requested !== lease.address) return { action: "drop", reason: "not-our-address" };
      return { action: "note", event: "decline", address: lease.address };
    }
    case MESSAGE_TYPE.RELEASE: {
      if (m.ciaddr !== lease.address) return { action: "drop", reason: "not-our-address" };
      return { action: "note", event: "release", address: lease.address };
    }
    default:
      return { action: "drop", reason: "unexpected-type", detail: `message type ${m.messageType}` };
  }
}

function reply(
  m: DhcpMessage,
  lease: ServedLease,
  type: "offer" | "ack" | "nak",
  state: RequestState | "inform" | undefined,
  address: Ipv4,
  reason?: string,
): ReplyDecision {
  const inform = state === "inform";
  const options: [number, Buffer][] = [[OPTION.SERVER_ID, u32(lease.serverId)]];
  if (type === "nak") {
    if (reason) options.push([OPTION.MESSAGE, Buffer.from(reason)]);
  } else {
    if (!inform) options.push(...lease.times);
    options.push(...fitOptions(m, lease.config, HEADER_LENGTH + 1 + encodedLength(options) + 3));
  }
  const payload = encodeDhcpMessage({
    op: BOOTREPLY,
    xid: m.xid,
    flags: m.flags,
    ciaddr: type === "nak" ? 0 : m.ciaddr,
    yiaddr: type === "nak" || inform ? 0 : lease.address,
    siaddr: 0,
    giaddr: 0,
    chaddr: m.chaddr,
    htype: m.htype,
    hlen: m.hlen,
    messageType: type === "offer" ? MESSAGE_TYPE.OFFER : type === "ack" ? MESSAGE_TYPE.ACK : MESSAGE_TYPE.NAK,
    options,
  });
  return {
    action: "reply",
    type,
    ...(state !== undefined && { state }),
    ...(reason !== undefined && { reason }),
    address,
    payload,
    destination: destinationOf(m, type, inform, lease),
  };
}

/** RFC 2131 4.1, with giaddr zero (a TAP has no relay). */
function destinationOf(
  m: DhcpMessage,
  type: "offer" | "ack" | "nak",
  inform: boolean,
  lease: ServedLease,
): ReplyDestination {
  if (type === "nak") return { ip: IPV4_BROADCAST, broadcast: true };
  if (m.ciaddr !== 0) return { ip: m.ciaddr, broadcast: false };
  if (inform || m.flags & BROADCAST_FLAG) return { ip: IPV4_BROADCAST, broadcast: true };
  return { ip: lease.address, broadcast: false };
}

function encodedLength(options: readonly (readonly [number, Buffer])[]): number {
  return options.reduce((n, [, v]) => n + encodedOptionLength(v.length), 0);
}

/**
 * The configuration options that fit the client's maximum message size (option 57, at least
 * 576), those it asked for (option 55) first and in its order, as RFC 2132 9.8 asks; an option
 * that does not fit is left out rather than truncated.
 */
export function fitOptions(
  m: DhcpMessage,
  config: readonly [number, Buffer][],
  used: number,
): [number, Buffer][] {
  const maxOption = m.options.get(OPTION.MAX_MESSAGE_SIZE);
  const maxMessage =
    maxOption?.length === 2 ? Math.max(DEFAULT_MAX_MESSAGE, maxOption.readUInt16BE(0)) : DEFAULT_MAX_MESSAGE;
  let room = maxMessage - IP_UDP_HEADERS - used;
  const wanted = m.options.get(OPTION.PARAMETER_REQUEST_LIST) ?? Buffer.alloc(0);
  const order = (code: number) => {
    const i = wanted.indexOf(code);
    return i < 0 ? wanted.length + config.findIndex(([c]) => c === code) : i;
  };
  const sorted = [...config].sort((a, b) => order(a[0]) - order(b[0]));
  const out: [number, Buffer][] = [];
  for (const option of sorted) {
    const size = encodedOptionLength(option[1].length);
    if (size <= room) {
      out.push(option);
      room -= size;
    }
  }
  return out;
}
