// An action kind as a small self-describing plugin, the same contract as the qdisc kinds
// (src/kinds/kind.ts) and netlink-native's link kinds: its name, the zod schema of what a user
// writes, how names in it become ifindexes (resolve), how to write TCA_ACT_OPTIONS and how to
// read the kernel's back. The registry (registry.ts) derives the rest.
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import type { z } from "zod";
import type { CodecContext } from "../kinds/kind.js";

/** What resolve() may ask of the handle: a link's ifindex, by name or index. */
export interface ActionResolveContext {
  ifindex(link: string | number): Promise<number>;
}

export interface ActionKind<K extends string = string, S extends z.ZodType = z.ZodType, Info = unknown> {
  readonly kind: K;
  /** Validates and parses what a user wrote (`{ kind, ... }`, units as tc writes them). */
  readonly schema: S;
  /** The ifindex of the link the action names (mirred's dev); kinds without one lack it (0). */
  resolve?(action: z.output<S>, ctx: ActionResolveContext): Promise<number>;
  /** Writes the action's TCA_ACT_OPTIONS payload (`ifindex` from resolve()). */
  encode(w: AttrWriter, action: z.output<S>, ifindex: number, ctx: CodecContext): void;
  /** Reads the kernel's TCA_ACT_OPTIONS payload; undefined when it is not one this kind reads. */
  decode(options: Buffer, ctx: CodecContext): Info | undefined;
}

/** Helps TypeScript keep each plugin's own types while registering them together. */
export function defineActionKind<K extends string, S extends z.ZodType, Info>(
  k: ActionKind<K, S, Info>,
): ActionKind<K, S, Info> {
  return k;
}
