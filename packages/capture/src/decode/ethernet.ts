// Ethernet II frames, with any number of 802.1Q/802.1ad tags between the addresses and the
// EtherType (as captured on a trunk).
import { formatMac, need, view } from "./addr.js";
import { decodeVlanTci, VLAN_TPIDS, type VlanTag } from "./vlan.js";

export const ETHERTYPE = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
  qinq: 0x88a8,
} as const;

export interface Ethernet {
  dst: string;
  src: string;
  /** Outermost first. */
  vlans: VlanTag[];
  /** The EtherType after the tags. */
  etherType: number;
  /** Bytes of the link header (14 + 4 per tag). */
  headerLength: number;
  payload: Buffer;
}

export function decodeEthernet(buf: Buffer): Ethernet {
  need("ethernet", buf, 14);
  const v = view(buf);
  const vlans: VlanTag[] = [];
  let off = 12;
  let type = v.getUint16(off);
  while (VLAN_TPIDS.has(type) && buf.length >= off + 8) {
    vlans.push(decodeVlanTci(type, v.getUint16(off + 2)));
    off += 4;
    type = v.getUint16(off);
  }
  return {
    dst: formatMac(buf, 0),
    src: formatMac(buf, 6),
    vlans,
    etherType: type,
    headerLength: off + 2,
    payload: buf.subarray(off + 2),
  };
}
