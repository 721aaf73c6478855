// @vmnet/cni-result: CNI Result schemas for every spec version (0.1.0-1.1.0), parsing with one
// clear error, conversion between versions with libcni's rules, and the helpers Virtlet needs.

export { type ConvertOptions, convertResult, type ResultOf, toCurrent } from "./convert.js";
export { CniResultError, formatPath } from "./errors.js";
export { type FixOptions, fixResult } from "./fix.js";
export { defaultGateway, interfaceForIp, ipsForInterface, routesForInterface } from "./helpers.js";
export {
  canonicalIp,
  cidrContains,
  type IpFamily,
  ipFamily,
  isCidr,
  isDefaultRoute,
  isIpAddress,
  isMacAddress,
  sameIp,
} from "./ip.js";
export { isKernelRoute, type LinkRoute, type LinkSnapshot } from "./link.js";
export {
  isErrorResult,
  type ParseOptions,
  parseErrorResult,
  parseNetworkConfig,
  parseNetworkConfigList,
  parseResult,
  resultSchemaFor,
  serializeResult,
} from "./parse.js";
export { cidrSchema, dnsSchema, ipAddressSchema, macSchema, routeSchema } from "./schemas/common.js";
export { errorResultSchema, WELL_KNOWN_ERROR_CODES } from "./schemas/error.js";
export { networkConfigListSchema, networkConfigSchema, pluginConfigSchema } from "./schemas/netconf.js";
export { result020Schema } from "./schemas/v020.js";
export { result040Schema } from "./schemas/v040.js";
export { resultV1Schema } from "./schemas/v100.js";
export { isOnLinkRoute, ROUTE_SCOPE_LINK } from "./scope.js";
export type * from "./types.js";
export {
  CNI_VERSIONS,
  type CniVersion,
  isCniVersion,
  LEGACY_VERSIONS,
  type LegacyVersion,
  V1_VERSIONS,
  type V1Version,
  V04X_VERSIONS,
  type V04xVersion,
} from "./versions.js";
