// The ifinfomsg header and the generic link attributes of a request, written in the order
// iproute2 emits them. Apart from link-message.ts so kinds (veth's peer) can use it without an
// import cycle through the kind registry. Pure.
import { macToBytes } from "../codec/addresses.js";
import * as C from "../codec/constants.js";
import type { AttrWriter } from "../codec/writer.js";

export const IFINFOMSG_LEN = 16;

export interface IfInfoHeader {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

export function writeIfInfo(w: AttrWriter, h: IfInfoHeader): void {
  const at = w.reserveFixed(IFINFOMSG_LEN);
  const b = w.target;
  b.writeUInt8(h.family ?? 0, at);
  b.writeUInt16LE(h.type ?? 0, at + 2);
  b.writeInt32LE(h.index ?? 0, at + 4);
  b.writeUInt32LE(h.flags ?? 0, at + 8);
  b.writeUInt32LE(h.change ?? 0, at + 12);
}

/** Link attributes a request may carry (all optional). Indexes, not names. */
export interface LinkAttrs {
  name?: string;
  mac?: string;
  mtu?: number;
  txqlen?: number;
  group?: number;
  /** Index of the bridge/bond to enslave to; 0 removes the master. */
  master?: number;
  alias?: string;
  /** Move into the netns behind this open fd. */
  netnsFd?: number;
  netnsPid?: number;
  /** Parent link index (IFLA_LINK: vlan/macvlan's lower device). */
  parent?: number;
}

/** Writes the attributes in the order iproute2 emits them for `ip link add/set`. */
export function writeLinkAttrs(w: AttrWriter, a: LinkAttrs): void {
  if (a.mac !== undefined) w.attr(C.IFLA_ADDRESS, macToBytes(a.mac));
  if (a.mtu !== undefined) w.u32(C.IFLA_MTU, a.mtu);
  if (a.txqlen !== undefined) w.u32(C.IFLA_TXQLEN, a.txqlen);
  if (a.group !== undefined) w.u32(C.IFLA_GROUP, a.group);
  if (a.master !== undefined) w.u32(C.IFLA_MASTER, a.master);
  if (a.alias !== undefined) w.text(C.IFLA_IFALIAS, a.alias);
  if (a.netnsFd !== undefined) w.u32(C.IFLA_NET_NS_FD, a.netnsFd);
  if (a.netnsPid !== undefined) w.u32(C.IFLA_NET_NS_PID, a.netnsPid);
  if (a.parent !== undefined) w.u32(C.IFLA_LINK, a.parent);
  if (a.name !== undefined) w.string(C.IFLA_IFNAME, a.name);
}
