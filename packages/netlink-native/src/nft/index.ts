// @vmnet/netlink-native/nft: a small typed nftables client over NETLINK_NETFILTER (no `nft`
// process): tables, chains and rules built as messages equal to nft's, applied as one batch.
export {
  CMP_OPS,
  type CmpOp,
  CT_STATES,
  type CtKey,
  type CtState,
  FAMILIES,
  META_KEYS,
  type MetaKey,
  NAT_TYPES,
  type NatType,
  NETLINK_NETFILTER,
  NF_NAT_RANGE,
  type NfProto,
  type NftFamily,
  PAYLOAD_BASES,
  type PayloadBase,
  VERDICTS,
  type Verdict,
} from "./constants.js";
export {
  decodeExpression,
  matchDestinationPorts,
  matchEtherType,
  matchInterfaceName,
  matchL4Proto,
  type NftExpression,
  verdict,
  writeExpression,
} from "./expressions.js";
export {
  type ChainSpec,
  chainAdd,
  decodeChain,
  decodeComment,
  decodeRule,
  decodeTable,
  dumpRequest,
  encodeBatch,
  encodeComment,
  type NftChain,
  type NftRequest,
  type NftRule,
  type NftTable,
  type RuleSpec,
  ruleAdd,
  type TableSpec,
  tableAdd,
  tableDelete,
} from "./messages.js";
export { masquerade, matchAddress, matchCtState, matchIcmpv6Type, matchNfproto, natTo } from "./nat.js";
export { Nft, type NftOptions } from "./nft.js";
