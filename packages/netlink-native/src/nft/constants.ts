// nf_tables constants (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h): kernel facts.

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

/** Message types within the nftables subsystem (NFT_MSG_*). */
export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  GETGEN: 16,
} as const;

/** The nlmsg_type of an nftables message: subsystem in the high byte. */
export const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

/** Table families (NFPROTO_*), by the names nft uses. */
export const FAMILIES = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = keyof typeof FAMILIES;
export function familyName(n: number): NftFamily | undefined {
  return (Object.keys(FAMILIES) as NftFamily[]).find((k) => FAMILIES[k] === n);
}

export const NFTA_TABLE = { NAME: 1, FLAGS: 2, USE: 3, HANDLE: 4, USERDATA: 6 } as const;
export const NFTA_CHAIN = {
  TABLE: 1,
  HANDLE: 2,
  NAME: 3,
  HOOK: 4,
  POLICY: 5,
  USE: 6,
  TYPE: 7,
  FLAGS: 10,
  USERDATA: 12,
} as const;
export const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2, DEV: 3 } as const;
export const NFTA_RULE = { TABLE: 1, CHAIN: 2, HANDLE: 3, EXPRESSIONS: 4, POSITION: 6, USERDATA: 7 } as const;
export const NFTA_LIST_ELEM = 1;
export const NFTA_EXPR = { NAME: 1, DATA: 2 } as const;
export const NFTA_META = { DREG: 1, KEY: 2, SREG: 3 } as const;
export const NFTA_CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
export const NFTA_PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4 } as const;
export const NFTA_IMMEDIATE = { DREG: 1, DATA: 2 } as const;
export const NFTA_DATA = { VALUE: 1, VERDICT: 2 } as const;
export const NFTA_VERDICT = { CODE: 1, CHAIN: 2 } as const;
export const NFTA_COUNTER = { BYTES: 1, PACKETS: 2 } as const;
export const NFTA_BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5 } as const;
export const NFTA_CT = { DREG: 1, KEY: 2 } as const;
export const NFTA_NAT = {
  TYPE: 1,
  FAMILY: 2,
  REG_ADDR_MIN: 3,
  REG_ADDR_MAX: 4,
  REG_PROTO_MIN: 5,
  REG_PROTO_MAX: 6,
  FLAGS: 7,
} as const;
export const NFTA_MASQ = { FLAGS: 1, REG_PROTO_MIN: 2, REG_PROTO_MAX: 3 } as const;

/** enum nft_nat_types. */
export const NAT_TYPES = { snat: 0, dnat: 1 } as const;
export type NatType = keyof typeof NAT_TYPES;
/** NF_NAT_RANGE_* flags (nf_nat.h): nft sets PROTO_SPECIFIED when a port is given. */
export const NF_NAT_RANGE = { MAP_IPS: 1, PROTO_SPECIFIED: 2, PROTO_RANDOM: 4, PERSISTENT: 8 } as const;
/** The NFPROTO_* a nat expression or `meta nfproto` names. */
export const NFPROTO = { ipv4: 2, ipv6: 10 } as const;
export type NfProto = keyof typeof NFPROTO;

/** Conntrack keys (enum nft_ct_keys) this client models. */
export const CT_KEYS = { state: 0, direction: 1, status: 2, mark: 3 } as const;
export type CtKey = keyof typeof CT_KEYS;
/** `ct state` bits (NF_CT_STATE_*): a u32 in host byte order, as the kernel's register holds it. */
export const CT_STATES = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
export type CtState = keyof typeof CT_STATES;

/** Hook numbers by family: bridge (NF_BR_*), netdev, and the IP families (NF_INET_*). */
export const HOOKS = {
  bridge: { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 },
  inet: { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 5 },
  netdev: { ingress: 0, egress: 1 },
} as const;

export const META_KEYS = {
  len: 0,
  protocol: 1,
  priority: 2,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  iiftype: 8,
  oiftype: 9,
  nfproto: 15,
  l4proto: 16,
} as const;
export type MetaKey = keyof typeof META_KEYS;

export const CMP_OPS = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export type CmpOp = keyof typeof CMP_OPS;

export const PAYLOAD_BASES = { link: 0, network: 1, transport: 2 } as const;
export type PayloadBase = keyof typeof PAYLOAD_BASES;

/** Verdict codes: NF_DROP/NF_ACCEPT and nftables' own negative ones. */
export const VERDICTS = {
  drop: 0,
  accept: 1,
  continue: -1,
  break: -2,
  jump: -3,
  goto: -4,
  return: -5,
} as const;
export type Verdict = keyof typeof VERDICTS;

/** Registers: 0 is the verdict register, 1-4 the 16-byte data registers. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;

/** libnftnl's user-data TLV type for table, chain and rule comments. */
export const UDATA_COMMENT = 0;
