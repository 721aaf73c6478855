// The registry of link kinds. Everything kind-specific elsewhere is derived from this list: the
// `links.add` spec union and its error texts (link-specs.ts), request encoding (requests.ts) and
// the typed `link.info` of decoded links (link-message.ts).
import { bridgeKind } from "./bridge.js";
import { geneveKind } from "./geneve.js";
import { gretapKind } from "./gretap.js";
import type { LinkKind } from "./kind.js";
import { macvlanKind, macvtapKind } from "./macvlan.js";
import { dummyKind, ifbKind } from "./plain.js";
import { vethKind } from "./veth.js";
import { vlanKind } from "./vlan.js";
import { vxlanKind } from "./vxlan.js";

export const LINK_KIND_REGISTRY = [
  vethKind,
  bridgeKind,
  vxlanKind,
  geneveKind,
  macvlanKind,
  macvtapKind,
  ifbKind,
  dummyKind,
  vlanKind,
  gretapKind,
] as const;

type Registry = typeof LINK_KIND_REGISTRY;
type AnyKind = Registry[number];

/** Every kind `links.add` can create. */
export type LinkKindName = AnyKind["kind"];
export const LINK_KINDS = LINK_KIND_REGISTRY.map((k) => k.kind) as readonly LinkKindName[];

type InfoOf<K> = K extends LinkKind<infer N, infer _S, infer _R, infer I> ? { kind: N } & I : never;

/**
 * Kind-specific settings of a decoded link, discriminated by `kind`:
 * `if (link.info?.kind === "vxlan") link.info.vni`.
 */
export type LinkInfo = InfoOf<AnyKind>;

const byName = new Map<string, LinkKind<string, never, unknown, object>>(
  LINK_KIND_REGISTRY.map((k) => [k.kind, k as unknown as LinkKind<string, never, unknown, object>]),
);

/** The kind plugin for an IFLA_INFO_KIND string, or undefined for kinds we do not model. */
export function linkKind(kind: string): LinkKind<string, never, unknown, object> | undefined {
  return byName.get(kind);
}

export type { BridgeInfo } from "./bridge.js";
export type { GeneveInfo } from "./geneve.js";
export type { GretapInfo } from "./gretap.js";
export type { LinkKind, ResolveContext, ResolvedKind } from "./kind.js";
export { defineKind } from "./kind.js";
export type { MacvlanInfo, MacvlanMode } from "./macvlan.js";
export type { VlanInfo, VlanProtocol } from "./vlan.js";
export type { VxlanInfo } from "./vxlan.js";
