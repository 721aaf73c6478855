// ifinfomsg requests and replies (RTM_NEWLINK/DELLINK/GETLINK). Pure: names are already resolved
// to indexes by the caller. Attribute order follows iproute2 so our bytes can be compared with its.

import { bytesToMac } from "../codec/addresses.js";
import { attrMap, parseAttrs, type RawAttr, read } from "../codec/attrs.js";
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";
import { AttrWriter } from "../codec/writer.js";
import { type LinkInfo, linkKind } from "./kinds/index.js";
import {
  IFINFOMSG_LEN,
  type IfInfoHeader,
  type LinkAttrs,
  writeIfInfo,
  writeLinkAttrs,
} from "./link-attrs.js";
import { decodeLinkStats64, type LinkStats } from "./stats.js";

export {
  IFINFOMSG_LEN,
  type IfInfoHeader,
  type LinkAttrs,
  writeIfInfo,
  writeLinkAttrs,
} from "./link-attrs.js";

/** IFLA_LINKINFO { KIND, DATA { ... } }: the kind string has no NUL, as iproute2 sends it. */
export function writeLinkInfo(w: AttrWriter, kind: string, data?: (w: AttrWriter) => void): void {
  w.begin(C.IFLA_LINKINFO);
  w.text(C.IFLA_INFO_KIND, kind);
  if (data) {
    // iproute2 omits IFLA_INFO_DATA when a kind has nothing to say (a bridge with defaults).
    const inner = new AttrWriter();
    data(inner);
    const bytes = inner.finish();
    if (bytes.length > 0) w.attr(C.IFLA_INFO_DATA, bytes);
  }
  w.end();
}

export interface LinkRequest {
  header: IfInfoHeader;
  attrs: LinkAttrs;
  info?: { kind: string; data?: (w: AttrWriter) => void };
}

export function encodeLinkBody(r: LinkRequest): Buffer {
  const w = new AttrWriter();
  writeIfInfo(w, r.header);
  writeLinkAttrs(w, r.attrs);
  if (r.info) writeLinkInfo(w, r.info.kind, r.info.data);
  return w.finish();
}

const OPERSTATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"] as const;
export type OperState = (typeof OPERSTATES)[number];

/** A link as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** ARPHRD_* hardware type (1 = ether, 772 = loopback). */
  hwType: number;
  /** Raw IFF_* flags. */
  flags: number;
  up: boolean;
  lowerUp: boolean;
  running: boolean;
  promisc: boolean;
  mtu: number;
  minMtu?: number;
  maxMtu?: number;
  mac?: string;
  broadcast?: string;
  permMac?: string;
  txqlen?: number;
  group: number;
  operstate: OperState;
  promiscuity?: number;
  carrier?: boolean;
  alias?: string;
  altNames: string[];
  qdisc?: string;
  master?: number;
  /** IFLA_LINK: the lower/peer device index (for veth: the peer, possibly in another netns). */
  parent?: number;
  /** The peer's netns id as seen from this netns, when the parent lives elsewhere. */
  parentNetnsId?: number;
  kind?: string;
  slaveKind?: string;
  /**
   * Kind-specific settings decoded from IFLA_INFO_DATA, typed by kind (for the kinds of the
   * registry): `if (link.info?.kind === "vxlan") link.info.vni`.
   */
  info?: LinkInfo;
  stats?: LinkStats;
  /** Attributes this codec does not decode, kept as they came. */
  unknown: RawAttr[];
}

const KNOWN = new Set([
  C.IFLA_IFNAME,
  C.IFLA_MTU,
  C.IFLA_MIN_MTU,
  C.IFLA_MAX_MTU,
  C.IFLA_ADDRESS,
  C.IFLA_BROADCAST,
  C.IFLA_PERM_ADDRESS,
  C.IFLA_TXQLEN,
  C.IFLA_GROUP,
  C.IFLA_OPERSTATE,
  C.IFLA_PROMISCUITY,
  C.IFLA_CARRIER,
  C.IFLA_IFALIAS,
  C.IFLA_PROP_LIST,
  C.IFLA_QDISC,
  C.IFLA_MASTER,
  C.IFLA_LINK,
  C.IFLA_LINK_NETNSID,
  C.IFLA_LINKINFO,
  C.IFLA_STATS64,
]);

export function decodeLink(body: Buffer): Link {
  if (body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError("ifinfomsg too short", 16);
  const flags = body.readUInt32LE(8);
  const attrs = parseAttrs(body.subarray(IFINFOMSG_LEN), 16 + IFINFOMSG_LEN);
  const m = attrMap(attrs);
  const get = <T>(type: number, f: (a: RawAttr) => T): T | undefined => {
    const a = m.get(type);
    return a === undefined ? undefined : f(a);
  };
  const link: Link = {
    index: body.readInt32LE(4),
    name: get(C.IFLA_IFNAME, read.string) ?? "",
    hwType: body.readUInt16LE(2),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    lowerUp: (flags & C.IFF_LOWER_UP) !== 0,
    running: (flags & C.IFF_RUNNING) !== 0,
    promisc: (flags & C.IFF_PROMISC) !== 0,
    mtu: get(C.IFLA_MTU, read.u32) ?? 0,
    group: get(C.IFLA_GROUP, read.u32) ?? 0,
    operstate: OPERSTATES[get(C.IFLA_OPERSTATE, read.u8) ?? 0] ?? "unknown",
    altNames: [],
    unknown: [],
  };
  const set = <K extends keyof Link>(key: K, v: Link[K] | undefined) => {
    if (v !== undefined) link[key] = v;
  };
  set("minMtu", get(C.IFLA_MIN_MTU, read.u32));
  set("maxMtu", get(C.IFLA_MAX_MTU, read.u32));
  set(
    "mac",
    get(C.IFLA_ADDRESS, (a) => bytesToMac(a.data)),
  );
  set(
    "broadcast",
    get(C.IFLA_BROADCAST, (a) => bytesToMac(a.data)),
  );
  set(
    "permMac",
    get(C.IFLA_PERM_ADDRESS, (a) => bytesToMac(a.data)),
  );
  set("txqlen", get(C.IFLA_TXQLEN, read.u32));
  set("promiscuity", get(C.IFLA_PROMISCUITY, read.u32));
  set(
    "carrier",
    get(C.IFLA_CARRIER, (a) => read.u8(a) !== 0),
  );
  set("alias", get(C.IFLA_IFALIAS, read.string));
  set("qdisc", get(C.IFLA_QDISC, read.string));
  set("master", get(C.IFLA_MASTER, read.u32));
  set("parent", get(C.IFLA_LINK, read.u32));
  set("parentNetnsId", get(C.IFLA_LINK_NETNSID, read.s32));
  set(
    "stats",
    get(C.IFLA_STATS64, (a) => decodeLinkStats64(a.data)),
  );
  const props = m.get(C.IFLA_PROP_LIST);
  if (props) {
    for (const p of parseAttrs(props.data))
      if (p.type === C.IFLA_ALT_IFNAME) link.altNames.push(read.string(p));
  }
  const info = m.get(C.IFLA_LINKINFO);
  if (info) {
    for (const a of parseAttrs(info.data)) {
      if (a.type === C.IFLA_INFO_KIND) link.kind = read.string(a);
      if (a.type === C.IFLA_INFO_SLAVE_KIND) link.slaveKind = read.string(a);
    }
    const data = parseAttrs(info.data).find((a) => a.type === C.IFLA_INFO_DATA);
    const kind = link.kind ? linkKind(link.kind) : undefined;
    if (kind?.decode) {
      const decoded = kind.decode(data ? parseAttrs(data.data) : []);
      link.info = { ...decoded, kind: kind.kind } as LinkInfo;
    }
  }
  for (const a of attrs) if (!KNOWN.has(a.type)) link.unknown.push(a);
  return link;
}
