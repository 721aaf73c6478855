// 802.1Q / 802.1ad tags: TPID 0x8100 (C-tag), 0x88a8 (S-tag), and 0x9100 (older QinQ).
import { need, view } from "./addr.js";

export const VLAN_TPIDS: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);

export interface VlanTag {
  tpid: number;
  /** Priority code point (0-7). */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN id (0: priority tag only). */
  vid: number;
}

/** Decodes the 2-byte TCI that follows a TPID. */
export function decodeVlanTci(tpid: number, tci: number): VlanTag {
  return { tpid, pcp: tci >> 13, dei: ((tci >> 12) & 1) === 1, vid: tci & 0x0fff };
}

/** One tag at the start of `buf` (TPID, TCI); returns the tag and the EtherType that follows. */
export function decodeVlanTag(buf: Uint8Array): { tag: VlanTag; etherType: number } {
  need("802.1Q", buf, 6);
  const v = view(buf);
  return { tag: decodeVlanTci(v.getUint16(0), v.getUint16(2)), etherType: v.getUint16(4) };
}
