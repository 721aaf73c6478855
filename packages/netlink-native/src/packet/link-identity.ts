// The few fields of an RTM_NEWLINK that say which link it is and who owns it (index, name,
// alternative names, alias, group), read without decoding the rest. Resolving a thousand names or
// finding marked links from one dump then costs a fraction of decoding every link in full. Pure.
import { AttrCursor } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";

const IFINFOMSG_LEN = 16;

export interface LinkIdentity {
  index: number;
  name: string;
  altNames: string[];
  alias?: string;
  group: number;
}

export function decodeLinkIdentity(body: Buffer): LinkIdentity {
  if (body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError("ifinfomsg too short", 16);
  const out: LinkIdentity = { index: body.readInt32LE(4), name: "", altNames: [], group: 0 };
  const a = new AttrCursor(body.subarray(IFINFOMSG_LEN), 16 + IFINFOMSG_LEN);
  while (a.next()) {
    if (a.type === C.IFLA_IFNAME) out.name = a.string();
    else if (a.type === C.IFLA_IFALIAS) out.alias = a.string();
    else if (a.type === C.IFLA_GROUP) out.group = a.u32();
    else if (a.type === C.IFLA_PROP_LIST) {
      const p = new AttrCursor(a.data());
      while (p.next()) if (p.type === C.IFLA_ALT_IFNAME) out.altNames.push(p.string());
    }
  }
  return out;
}

/**
 * Only the link's group (IFLA_GROUP; 0 when absent), read in place: no cursor, view or object per
 * link (deleteMany reads every link's group to pick an unused one). Validates as AttrCursor does
 * (same errors); a repeated attribute counts as its last, as in decodeLinkIdentity.
 */
export function decodeLinkGroup(body: Buffer): number {
  if (body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError("ifinfomsg too short", 16);
  let group = 0;
  let off = IFINFOMSG_LEN;
  for (;;) {
    if (off + 4 > body.length) {
      for (let i = off; i < body.length; i++)
        if (body[i] !== 0) throw new NetlinkDecodeError("trailing bytes after the last attribute", 16 + off);
      return group;
    }
    const len = body.readUInt16LE(off);
    if (len < 4) throw new NetlinkDecodeError(`attribute length ${len} is below the header size`, 16 + off);
    if (off + len > body.length)
      throw new NetlinkDecodeError(`attribute of ${len} bytes overruns its ${body.length - off}`, 16 + off);
    // The type without NLA_F_NESTED / NLA_F_NET_BYTEORDER (the top two bits).
    if ((body.readUInt16LE(off + 2) & 0x3fff) === C.IFLA_GROUP) {
      if (len < 8) throw new NetlinkDecodeError(`attribute ${C.IFLA_GROUP} has ${len - 4} bytes, needs 4`, 0);
      group = body.readUInt32LE(off + 4);
    }
    off += (len + 3) & ~3;
  }
}
