// One decoded client message + the lease of its sender -> the reply to send (or why none). Stateless
// per message: the server hands every client exactly one address, so nothing a client says can
// change what it gets, only whether it gets an answer. Pure.
import { inPrefix } from "./ipv6.js";
import {
  type Dhcp6Message,
  decodeIaNa,
  iaAddrOption,
  iaNaOption,
  MSG,
  OPT,
  option,
  STATUS,
  statusOption,
  u32,
} from "./message.js";
import type { ServedLease6 } from "./served-lease.js";
import type { Dhcp6DropReason, Dhcp6MessageName } from "./types.js";

export const CLIENT_MESSAGES: ReadonlyMap<number, Dhcp6MessageName> = new Map([
  [MSG.solicit, "solicit"],
  [MSG.request, "request"],
  [MSG.confirm, "confirm"],
  [MSG.renew, "renew"],
  [MSG.rebind, "rebind"],
  [MSG.release, "release"],
  [MSG.decline, "decline"],
  [MSG.informationRequest, "information-request"],
]);

export type Decision6 =
  | { action: "drop"; reason: Dhcp6DropReason; detail?: string }
  | {
      action: "reply";
      type: typeof MSG.advertise | typeof MSG.reply;
      payload: Buffer;
      /** The reply hands the client its address (it is bound once sent). */
      binds: boolean;
      rapidCommit?: boolean;
      confirmed?: boolean;
      /** Release/Decline: the client gives these addresses up. */
      note?: { event: "release" | "decline"; addresses: Buffer[] };
    };

const PREFERENCE_MAX = 255;

export function decideReply6(message: Dhcp6Message, served: ServedLease6, duid: Buffer): Decision6 {
  const name = CLIENT_MESSAGES.get(message.type);
  if (message.type === MSG.relayForward || message.type === MSG.relayReply)
    return { action: "drop", reason: "relayed" };
  if (name === undefined)
    return { action: "drop", reason: "not-client-message", detail: `type ${message.type}` };
  const first = (code: number) => message.options.find((o) => o.code === code)?.data;
  const clientId = first(OPT.clientId);
  const serverId = first(OPT.serverId);
  if (name !== "information-request" && (clientId === undefined || clientId.length < 2)) {
    return { action: "drop", reason: "no-client-id" };
  }
  switch (name) {
    case "request":
    case "renew":
    case "release":
    case "decline":
      if (serverId === undefined) return { action: "drop", reason: "missing-server-id" };
      if (!serverId.equals(duid)) return { action: "drop", reason: "other-server" };
      break;
    case "solicit":
    case "rebind":
    case "confirm":
      if (serverId !== undefined) return { action: "drop", reason: "unexpected-server-id" };
      break;
    case "information-request":
      if (serverId !== undefined && !serverId.equals(duid)) return { action: "drop", reason: "other-server" };
      break;
  }
  const iaNas = message.options.filter((o) => o.code === OPT.iaNa).map((o) => decodeIaNa(o.data));
  const common = [option(OPT.serverId, duid), ...(clientId ? [option(OPT.clientId, clientId)] : [])];
  const reply = (
    options: Buffer[],
    extra: Omit<Extract<Decision6, { action: "reply" }>, "action" | "type" | "payload">,
    type: number = MSG.reply,
  ): Decision6 => ({
    action: "reply",
    type: type as typeof MSG.reply,
    payload: Buffer.concat([
      Buffer.from([
        type,
        (message.transactionId >> 16) & 0xff,
        (message.transactionId >> 8) & 0xff,
        message.transactionId & 0xff,
      ]),
      ...options,
    ]),
    ...extra,
  });
  switch (name) {
    case "solicit": {
      const rapid = first(OPT.rapidCommit) !== undefined;
      const ias = identityAssociations(message, iaNas, served, false);
      if (rapid) {
        return reply([...common, ...ias.options, ...served.config, option(OPT.rapidCommit)], {
          binds: ias.assigned,
          rapidCommit: true,
        });
      }
      return reply(
        [...common, ...ias.options, ...served.config, option(OPT.preference, Buffer.from([PREFERENCE_MAX]))],
        { binds: false },
        MSG.advertise,
      );
    }
    case "request":
    case "renew":
    case "rebind": {
      const ias = identityAssociations(message, iaNas, served, name !== "request");
      return reply([...common, ...ias.options, ...served.config], { binds: ias.assigned });
    }
    case "release":
    case "decline": {
      const addresses = iaNas.flatMap((ia) => ia.addresses);
      return reply([...common, statusOption(STATUS.success, name === "release" ? "released" : "declined")], {
        binds: false,
        note: { event: name, addresses },
      });
    }
    case "confirm": {
      const addresses = iaNas.flatMap((ia) => ia.addresses);
      // RFC 8415 18.3.3: with no addresses to judge, a server sends no reply.
      if (addresses.length === 0) return { action: "drop", reason: "nothing-to-confirm" };
      const onLink = addresses.every((a) => inPrefix(a, served.address, served.prefixLength));
      const status = onLink
        ? statusOption(STATUS.success, "all addresses on-link")
        : statusOption(STATUS.notOnLink, "not on this link");
      return reply([...common, status], { binds: false, confirmed: onLink });
    }
    case "information-request":
      return reply([...common, ...served.config], { binds: false });
  }
}

/**
 * The IA options of a reply: the first IA_NA holds the lease's address; further IA_NAs, IA_TAs
 * and IA_PDs get "none available" (vmnet serves exactly the CNI's one address). On Renew/Rebind,
 * addresses the client holds that are not the lease's are returned with lifetimes 0 so it drops
 * them (RFC 8415 18.3.4).
 */
function identityAssociations(
  message: Dhcp6Message,
  iaNas: ReturnType<typeof decodeIaNa>[],
  served: ServedLease6,
  expireOthers: boolean,
): { options: Buffer[]; assigned: boolean } {
  const options: Buffer[] = [];
  iaNas.forEach((ia, i) => {
    if (i === 0) {
      const stale = expireOthers
        ? ia.addresses.filter((a) => !a.equals(served.address)).map((a) => iaAddrOption(a, 0, 0))
        : [];
      options.push(
        iaNaOption(ia.iaid, served.t1, served.t2, [
          iaAddrOption(served.address, served.preferredLifetimeS, served.validLifetimeS),
          ...stale,
        ]),
      );
    } else {
      options.push(iaNaOption(ia.iaid, 0, 0, [statusOption(STATUS.noAddrsAvail, "one address per guest")]));
    }
  });
  for (const o of message.options) {
    if (o.code === OPT.iaTa && o.data.length >= 4) {
      options.push(
        option(OPT.iaTa, o.data.subarray(0, 4), statusOption(STATUS.noAddrsAvail, "no temporary addresses")),
      );
    } else if (o.code === OPT.iaPd && o.data.length >= 12) {
      options.push(
        option(
          OPT.iaPd,
          o.data.subarray(0, 4),
          u32(0),
          u32(0),
          statusOption(STATUS.noPrefixAvail, "no prefix delegation"),
        ),
      );
    }
  }
  if (iaNas.length === 0 && options.length === 0)
    options.push(statusOption(STATUS.noAddrsAvail, "no IA_NA asked for"));
  return { options, assigned: iaNas.length > 0 };
}
