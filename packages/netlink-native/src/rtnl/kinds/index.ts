import { bridgeCodec } from "./bridge.js";
import { gretapCodec } from "./gretap.js";
import type { KindCodec } from "./kind.js";
import { macvlanCodec, macvtapCodec } from "./macvlan.js";
import { vlanCodec } from "./vlan.js";
import { vxlanCodec } from "./vxlan.js";

// Kinds without IFLA_INFO_DATA of their own (veth's peer is written by the link layer).
const plain = (kind: string): KindCodec<unknown> => ({ kind });

const codecs = new Map<string, KindCodec<never>>(
  [
    bridgeCodec,
    vxlanCodec,
    macvlanCodec,
    macvtapCodec,
    vlanCodec,
    gretapCodec,
    plain("veth"),
    plain("ifb"),
    plain("dummy"),
    plain("tun"),
  ].map((c) => [c.kind, c as KindCodec<never>]),
);

export function kindCodec(kind: string): KindCodec<never> | undefined {
  return codecs.get(kind);
}

export type { BridgeSpec } from "./bridge.js";
export type { GretapSpec } from "./gretap.js";
export type { MacvlanMode, MacvlanSpec } from "./macvlan.js";
export type { VlanProtocol, VlanSpec } from "./vlan.js";
export type { VxlanSpec } from "./vxlan.js";
export { bridgeCodec, gretapCodec, macvlanCodec, macvtapCodec, vlanCodec, vxlanCodec };
