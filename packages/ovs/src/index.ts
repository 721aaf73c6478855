export * from "./errors.js";
export {
  type ConnectionOptions,
  type Endpoint,
  formatEndpoint,
  parseEndpoint,
} from "./jsonrpc/connection.js";
export { JsonStreamError, JsonStreamParser } from "./jsonrpc/stream-parser.js";
export * from "./netflow/collector.js";
export * from "./netflow/v5.js";
export * from "./ofctl.js";
export * from "./ovsdb/client.js";
export * from "./ovsdb/errors.js";
export * from "./ovsdb/monitor.js";
export * from "./ovsdb/operations.js";
export * from "./ovsdb/schema.js";
export * from "./programs.js";
export * from "./sandbox/sandbox.js";
export type { DeleteOptions } from "./vswitch/bridge.js";
export { OWNER_KEY, type VswitchOptions, type WriteOptions } from "./vswitch/context.js";
export * from "./vswitch/inputs.js";
export * from "./vswitch/interfaces.js";
export * from "./vswitch/records.js";
export * from "./vswitch/vswitch.js";
export { combineChanges, type OvsChange } from "./vswitch/change.js";
export { VswitchChanges } from "./vswitch/changes.js";
