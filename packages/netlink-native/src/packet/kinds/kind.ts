// The link-kind plugin contract. A kind is ONE object: its zod schema (the kind's own fields of
// `links.add`), how names in it are resolved, how its IFLA_INFO_DATA is written and how the
// kernel's is read back. The public spec union, its error texts and the typed `link.info` are
// all derived from the registry (./index.ts), so a kind is written once. Adding a kind touches
// its file, the registry and the constants list, nothing else.
//
// Parallel to @vmnet/tc-qos's qdisc kinds: { kind, schema, encode, decode }.
import type { z } from "zod";
import type { RawAttr } from "../../codec/attrs.js";
import type { AttrWriter } from "../../codec/writer.js";
import type { NetnsRef } from "../../netns.js";

/** What a kind may ask for while resolving its spec (names -> indexes, netns -> open fds). */
export interface ResolveContext {
  /** The ifindex of a link in the netns the link is created in. */
  index(ref: string | number): Promise<number>;
  /** An fd for the netns, kept open until the request is answered (IFLA_NET_NS_FD). */
  netnsFd(ref: NetnsRef): number;
}

/** A kind's part of a create request once resolved: its data and, for stacked kinds, IFLA_LINK. */
export interface ResolvedKind<R> {
  data: R;
  /** The lower device (IFLA_LINK), for kinds stacked on another link (macvlan, vlan). */
  parent?: number;
}

export interface LinkKind<
  K extends string = string,
  S extends z.ZodRawShape = z.ZodRawShape,
  R = unknown,
  I = object,
> {
  /** The IFLA_INFO_KIND string. */
  readonly kind: K;
  /** The kind's own fields of a create spec (the common ones are added by the registry). */
  readonly schema: S;
  /** Cross-field rules, as [message, field] when broken. */
  readonly check?: (spec: z.output<z.ZodObject<S>>) => [string, string] | undefined;
  /** Names to indexes, netns refs to fds. Default: the spec's own fields, as they are. */
  resolve?(spec: z.output<z.ZodObject<S>>, ctx: ResolveContext): Promise<ResolvedKind<R>>;
  /** Writes the contents of IFLA_INFO_DATA (nothing written: the attribute is left out). */
  encode?(w: AttrWriter, data: R): void;
  /** Reads IFLA_INFO_DATA back from the kernel. */
  decode?(attrs: RawAttr[]): I;
}

/** Declares a kind, keeping its literal types (so the registry can derive unions from it). */
export function defineKind<K extends string, S extends z.ZodRawShape, R, I extends object>(
  k: LinkKind<K, S, R, I>,
): LinkKind<K, S, R, I> {
  return k;
}
