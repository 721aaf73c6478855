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

/** libnftnl's user-data TLV type for table, chain and rule comments. */
export const UDATA_COMMENT = 0;
