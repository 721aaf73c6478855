// What the sub-handles (qdiscs, classes, filters, actions) need from their Tc: sending,
// dumping, resolving links, and the codec context. A separate interface keeps the files acyclic.
import type { LinkRef, RequestContext } from "@vmnet/netlink-native";
import type { Message } from "@vmnet/netlink-native/codec";
import type { ActionSpec, ResolvedAction } from "../actions/action.js";
import type { CodecContext } from "../kinds/kind.js";
import type { TcRequest } from "../messages.js";

export interface TcCore {
  readonly codec: CodecContext;
  send(req: TcRequest, context: RequestContext): Promise<Message[]>;
  dump(req: TcRequest, context: RequestContext): Promise<Message[]>;
  ifindex(link: LinkRef): Promise<number>;
  resolveActions(actions: readonly ActionSpec[] | undefined): Promise<ResolvedAction[]>;
}

export const ctxOf = (op: string, link: LinkRef): RequestContext => ({ op, object: String(link) });
