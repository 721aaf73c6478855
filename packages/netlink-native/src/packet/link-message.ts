// ifinfomsg requests and replies (RTM_NEWLINK/DELLINK/GETLINK). Pure: names are already resolved
// to indexes by the caller. Attribute order follows iproute2 so our bytes can be compared with its.

import { AttrCursor, parseAttrs, type RawAttr } from "../codec/attrs.js";
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
    w.begin(C.IFLA_INFO_DATA);
    data(w);
    w.endOrDrop();
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

/** Where a decoded link keeps its attributes until `unknown` is first read (not enumerable). */
const ATTRS = Symbol("link attributes");

/** Every attribute of the run whose type decodeLink does not decode, as RawAttrs. */
function unknownAttrs(attrs: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  const c = new AttrCursor(attrs, 16 + IFINFOMSG_LEN);
  while (c.next()) if (!KNOWN.has(c.type)) out.push(c.raw());
  return out;
}

/**
 * `unknown` is made when first read: a link carries some twenty-five attributes nobody decodes
 * (AF_SPEC, XDP, queue counts...), and keeping a RawAttr for each of a thousand links made at
 * once (links.add returns them) gave the garbage collector most of what it had to copy. It is an
 * own, enumerable property, so spreading, JSON and equality see the list; one getter and setter
 * are shared by every link, so links keep one hidden class.
 */
const UNKNOWN_PROPERTY: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Link & { [ATTRS]?: Buffer }): RawAttr[] {
    const value = unknownAttrs(this[ATTRS] ?? Buffer.alloc(0));
    Object.defineProperty(this, "unknown", { value, writable: true, enumerable: true, configurable: true });
    return value;
  },
  set(this: Link, value: RawAttr[]) {
    Object.defineProperty(this, "unknown", { value, writable: true, enumerable: true, configurable: true });
  },
};

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

/**
 * Decodes an RTM_NEWLINK body. One pass over the attributes (a link has some fifty), no object
 * per attribute (`unknown` is made when read, see above); an attribute seen twice counts as its
 * last occurrence, as the kernel's nla_parse does.
 */
export function decodeLink(body: Buffer): Link {
  if (body.length < IFINFOMSG_LEN) throw new NetlinkDecodeError("ifinfomsg too short", 16);
  const flags = body.readUInt32LE(8);
  const link: Omit<Link, "unknown"> & { unknown?: RawAttr[] } = {
    index: body.readInt32LE(4),
    name: "",
    hwType: body.readUInt16LE(2),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    lowerUp: (flags & C.IFF_LOWER_UP) !== 0,
    running: (flags & C.IFF_RUNNING) !== 0,
    promisc: (flags & C.IFF_PROMISC) !== 0,
    mtu: 0,
    group: 0,
    operstate: "unknown",
    altNames: [],
  };
  let hasUnknown = false;
  let props: Buffer | undefined;
  let info: Buffer | undefined;
  const attrs = body.subarray(IFINFOMSG_LEN);
  const c = new AttrCursor(attrs, 16 + IFINFOMSG_LEN);
  while (c.next()) {
    switch (c.type) {
      case C.IFLA_IFNAME:
        link.name = c.string();
        break;
      case C.IFLA_MTU:
        link.mtu = c.u32();
        break;
      case C.IFLA_MIN_MTU:
        link.minMtu = c.u32();
        break;
      case C.IFLA_MAX_MTU:
        link.maxMtu = c.u32();
        break;
      case C.IFLA_ADDRESS:
        link.mac = c.mac();
        break;
      case C.IFLA_BROADCAST:
        link.broadcast = c.mac();
        break;
      case C.IFLA_PERM_ADDRESS:
        link.permMac = c.mac();
        break;
      case C.IFLA_TXQLEN:
        link.txqlen = c.u32();
        break;
      case C.IFLA_GROUP:
        link.group = c.u32();
        break;
      case C.IFLA_OPERSTATE:
        link.operstate = OPERSTATES[c.u8()] ?? "unknown";
        break;
      case C.IFLA_PROMISCUITY:
        link.promiscuity = c.u32();
        break;
      case C.IFLA_CARRIER:
        link.carrier = c.u8() !== 0;
        break;
      case C.IFLA_IFALIAS:
        link.alias = c.string();
        break;
      case C.IFLA_QDISC:
        link.qdisc = c.string();
        break;
      case C.IFLA_MASTER:
        link.master = c.u32();
        break;
      case C.IFLA_LINK:
        link.parent = c.u32();
        break;
      case C.IFLA_LINK_NETNSID:
        link.parentNetnsId = c.s32();
        break;
      case C.IFLA_STATS64:
        link.stats = decodeLinkStats64(c.data());
        break;
      case C.IFLA_PROP_LIST:
        props = c.data();
        break;
      case C.IFLA_LINKINFO:
        info = c.data();
        break;
      default:
        hasUnknown = true;
    }
  }
  if (hasUnknown) {
    Object.defineProperty(link, ATTRS, {
      value: attrs,
      writable: false,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(link, "unknown", UNKNOWN_PROPERTY);
  } else link.unknown = [];
  if (props) {
    const p = new AttrCursor(props);
    while (p.next()) if (p.type === C.IFLA_ALT_IFNAME) link.altNames.push(p.string());
  }
  if (info) {
    let data: Buffer | undefined;
    const i = new AttrCursor(info);
    while (i.next()) {
      if (i.type === C.IFLA_INFO_KIND) link.kind = i.string();
      else if (i.type === C.IFLA_INFO_SLAVE_KIND) link.slaveKind = i.string();
      else if (i.type === C.IFLA_INFO_DATA && data === undefined) data = i.data();
    }
    const kind = link.kind ? linkKind(link.kind) : undefined;
    if (kind?.decode) {
      const decoded = kind.decode(data ? parseAttrs(data) : []);
      link.info = { ...decoded, kind: kind.kind } as LinkInfo;
    }
  }
  return link as Link;
}
