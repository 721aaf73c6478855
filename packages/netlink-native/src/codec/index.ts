// The pure netlink codec: no I/O, no addon. Usable alone (`@vmnet/netlink-native/codec`).

export {
  bytesToIp,
  bytesToMac,
  type Cidr,
  familyOf,
  formatIPv6,
  ipToBytes,
  macToBytes,
  parseCidr,
} from "./addresses.js";
export { attrMap, parseAttrs, type RawAttr, read } from "./attrs.js";
export { NetlinkNativeError } from "./base-error.js";
export * from "./constants.js";
export { NetlinkDecodeError } from "./decode-error.js";
export {
  type ErrorMessage,
  encodeMessage,
  type Message,
  type MessageHeader,
  NLMSG_HDRLEN,
  parseErrorMessage,
  parseMessages,
} from "./message.js";
export { AttrWriter, align4 } from "./writer.js";
