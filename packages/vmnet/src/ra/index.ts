// Router advertisements for guests (RFC 4861, 4191, 8106): what to advertise from a CNI result,
// the advertiser, and the pure message encoders.
export { type AdvertContent, encodeNeighborAdvert, encodeRouterAdvert, ICMP6, ND_OPTION } from "./advert.js";
export { RouterAdvertiser, resolveAdvert } from "./advertiser.js";
export { type AdvertsFromResultOptions, advertsFromResult, gateways6FromResult } from "./from-result.js";
export type {
  RaCounters,
  RaDropReason,
  RaEvent,
  RaPrefix,
  RaRoute,
  RaStats,
  RouterAdvertBinding,
  RouterAdvertConfig,
  RouterAdvertiserOptions,
} from "./types.js";
