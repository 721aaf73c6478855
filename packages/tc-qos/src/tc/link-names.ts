// The link dump that resolves names (RTM_GETLINK without statistics or VF information),
// and the only fields of its answers a name lookup needs: the ifindex (in the ifinfomsg header)
// and the names (IFLA_IFNAME and IFLA_PROP_LIST's IFLA_ALT_IFNAME). Every other attribute of the
// kilobyte the kernel sends per link is stepped over without being decoded.
import * as C from "@vmnet/netlink-native/codec";
import type { TcRequest } from "../messages.js";

const IFINFOMSG_LEN = 16;
const NLA_HDRLEN = 4;
/** NLA_F_NESTED and NLA_F_NET_BYTEORDER: flags, not part of an attribute's type. */
const NLA_TYPE_MASK = 0x3fff;

export function linkIdentityDumpRequest(): TcRequest {
  const body = Buffer.alloc(IFINFOMSG_LEN + 8);
  body.writeUInt16LE(8, IFINFOMSG_LEN);
  body.writeUInt16LE(C.IFLA_EXT_MASK, IFINFOMSG_LEN + 2);
  // No statistics, and no VF information (without RTEXT_FILTER_VF): names need neither.
  body.writeUInt32LE(C.RTEXT_FILTER_SKIP_STATS, IFINFOMSG_LEN + 4);
  return { type: C.RTM_GETLINK, flags: C.NLM_F_DUMP, body };
}

/** A NUL-terminated attribute payload as a string (the NUL, when there, left out). */
function cString(b: Buffer, start: number, end: number): string {
  const stop = end > start && b[end - 1] === 0 ? end - 1 : end;
  return b.toString("utf8", start, stop);
}

/**
 * Calls `found(name, ifindex)` for the name and every alternative name of the link an
 * RTM_NEWLINK body describes. Malformed attributes end the walk (the kernel sends none).
 */
export function namesOfLink(body: Buffer, found: (name: string, ifindex: number) => void): void {
  if (body.length < IFINFOMSG_LEN) return;
  const index = body.readInt32LE(4);
  let at = IFINFOMSG_LEN;
  while (at + NLA_HDRLEN <= body.length) {
    const len = body.readUInt16LE(at);
    if (len < NLA_HDRLEN || at + len > body.length) return;
    const type = body.readUInt16LE(at + 2) & NLA_TYPE_MASK;
    if (type === C.IFLA_IFNAME) found(cString(body, at + NLA_HDRLEN, at + len), index);
    else if (type === C.IFLA_PROP_LIST) {
      const end = at + len;
      let p = at + NLA_HDRLEN;
      while (p + NLA_HDRLEN <= end) {
        const plen = body.readUInt16LE(p);
        if (plen < NLA_HDRLEN || p + plen > end) break;
        if ((body.readUInt16LE(p + 2) & NLA_TYPE_MASK) === C.IFLA_ALT_IFNAME)
          found(cString(body, p + NLA_HDRLEN, p + plen), index);
        p += (plen + 3) & ~3;
      }
    }
    at += (len + 3) & ~3;
  }
}
