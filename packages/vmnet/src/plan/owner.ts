// Every ownership mark vmnet writes, in one place: the kernel's ifalias (and tc/nftables
// comments) carry @vmnet/netlink-native's mark text; OVS rows carry external_ids:vmnet-owner.
export {
  formatOwnerMark,
  isMarkOwnerAlive,
  type OwnerMark,
  ownerMarkForThisProcess,
  parseOwnerMark,
} from "@vmnet/netlink-native";

/** The external_ids key on OVS rows vmnet created (value: the owner name). */
export const OVS_OWNER_KEY = "vmnet-owner";

/** The default owner name when the application sets none. */
export const DEFAULT_OWNER = "vmnet";
