// The public face of @vmnet/ovs: every name a user needs, listed one by one (internals such as
// input schemas, wire-format parsers of the transport and the sandbox's helpers stay private).

// Errors: one base class (OvsError) and a class per kind.
export {
  MissingProgramError,
  OvsAlreadyExistsError,
  OvsCommandError,
  OvsError,
  OvsInputError,
  OvsNotFoundError,
  OvsTimeoutError,
} from "./errors.js";
// The OVSDB client.
export type { ConnectionOptions, Endpoint } from "./jsonrpc/connection.js";
export { JsonStreamError } from "./jsonrpc/stream-parser.js";
// NetFlow v5.
export {
  type CollectedRecord,
  NetflowCollector,
  NetflowCollectorError,
  type NetflowCollectorEvents,
  type NetflowCollectorOptions,
} from "./netflow/collector.js";
export {
  NetflowParseError,
  type NetflowV5Header,
  type NetflowV5Packet,
  type NetflowV5Record,
  parseNetflowV5,
} from "./netflow/v5.js";
// OpenFlow and daemon control through the OVS tools.
export {
  type FdbEntry,
  type FlowEntry,
  Ofctl,
  type OfctlOptions,
  parseDumpFlows,
  parseFdbShow,
} from "./ofctl.js";
// OVN: typed northbound operations and a sandbox with a control plane and simulated chassis.
export { OvnCentral, SOUTHBOUND_DATABASE } from "./ovn/central.js";
export { type ChassisConfig, OvnChassis } from "./ovn/chassis.js";
export type {
  AclSpec,
  LocalnetPortSpec,
  LogicalPortSpec,
  LogicalSwitchSpec,
  SyncOptions,
} from "./ovn/inputs.js";
export {
  NORTHBOUND_DATABASE,
  type NorthboundOptions,
  OvnNorthbound,
  type WaitUpOptions,
} from "./ovn/northbound.js";
export type { AclInfo, LogicalPortInfo, LogicalSwitchInfo } from "./ovn/records.js";
export { OvnSandbox, type OvnSandboxOptions, type PlugSpec } from "./ovn/sandbox.js";
export {
  type MonitorOptions,
  OvsdbClient,
  type OvsdbClientEvents,
  type OvsdbClientOptions,
  type ReconnectOptions,
  type TransactOptions,
} from "./ovsdb/client.js";
export {
  OvsdbConnectionError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbSchemaError,
  OvsdbTimeoutError,
} from "./ovsdb/errors.js";
export {
  type MonitorRequest,
  type MonitorRequests,
  type MonitorSelect,
  OvsdbMonitor,
  type OvsdbMonitorEvents,
  type RowChange,
} from "./ovsdb/monitor.js";
// OVSDB wire values and operations (RFC 7047 §5), with builders under unambiguous names.
export {
  type AbortOp,
  type AssertOp,
  type Atom,
  atomsOf,
  type CommentOp,
  type CommitOp,
  type Condition,
  type ConditionFunction,
  type DeleteOp,
  emptySet as ovsdbEmptySet,
  type InsertOp,
  type MutateOp,
  type Mutation,
  type Mutator,
  map as ovsdbMap,
  type NamedUuid,
  namedUuid as ovsdbNamedUuid,
  type Operation,
  type OperationResult,
  type OvsdbMap,
  type OvsdbSet,
  optionalOf,
  type Row,
  recordOf,
  type SelectOp,
  set as ovsdbSet,
  type UpdateOp,
  type Uuid,
  uuid as ovsdbUuid,
  uuidOf,
  uuidsOf,
  type Value,
  type WaitOp,
} from "./ovsdb/operations.js";
export { type ColumnKind, DatabaseSchema } from "./ovsdb/schema.js";
export { findProgram } from "./programs.js";
// The sandbox (a private ovsdb-server + ovs-vswitchd) and orphan reaping.
export type { FindOrphansOptions, OrphanSandbox, ReapedSandbox } from "./sandbox/orphans.js";
export { connectSystem, OvsSandbox, type OvsSandboxOptions, sandboxEnv } from "./sandbox/sandbox.js";
export type { TeardownReport } from "./sandbox/teardown.js";
// Typed switch operations and their builders (operations + inverse).
export type { DeleteOptions } from "./vswitch/bridge.js";
export { combineChanges, type OvsChange } from "./vswitch/change.js";
export { VswitchChanges } from "./vswitch/changes.js";
export { OWNER_KEY, type VswitchOptions, type WriteOptions } from "./vswitch/context.js";
export type {
  BridgeSpec,
  InterfaceType,
  MirrorSpec,
  NetflowSpec,
  PortSpec,
  VlanMode,
} from "./vswitch/inputs.js";
export { InterfaceWatcher, type InterfaceWatcherEvents } from "./vswitch/interfaces.js";
export type {
  BridgeInfo,
  InterfaceInfo,
  MirrorInfo,
  NetflowInfo,
  PortInfo,
  SwitchSnapshot,
} from "./vswitch/records.js";
export { Vswitch } from "./vswitch/vswitch.js";
