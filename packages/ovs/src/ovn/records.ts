// Northbound rows as plain objects: what the typed reads return.
import { atomsOf, optionalOf, type Row, recordOf, uuidsOf } from "../ovsdb/operations.js";

export interface LogicalSwitchInfo {
  readonly uuid: string;
  readonly name: string;
  /** Uuids of its ports and ACLs. */
  readonly portUuids: string[];
  readonly aclUuids: string[];
  readonly otherConfig: Record<string, string>;
  readonly externalIds: Record<string, string>;
}

export interface LogicalPortInfo {
  readonly uuid: string;
  readonly name: string;
  /** The logical switch it belongs to (undefined for a port no switch lists). */
  readonly switchName: string | undefined;
  readonly type: string;
  readonly addresses: string[];
  readonly portSecurity: string[];
  readonly options: Record<string, string>;
  /** Set by ovn-northd from the chassis that binds it (OVN 22.x+): true once bound and up. */
  readonly up: boolean;
  readonly enabled: boolean;
  readonly externalIds: Record<string, string>;
}

export interface AclInfo {
  readonly uuid: string;
  readonly name: string | undefined;
  readonly direction: string;
  readonly priority: number;
  readonly match: string;
  readonly action: string;
  readonly externalIds: Record<string, string>;
}

const strings = (value: unknown): string[] => atomsOf(value).map(String);

export function switchInfo(uuid: string, row: Row): LogicalSwitchInfo {
  return {
    uuid,
    name: String(row.name),
    portUuids: uuidsOf(row.ports),
    aclUuids: uuidsOf(row.acls),
    otherConfig: recordOf(row.other_config),
    externalIds: recordOf(row.external_ids),
  };
}

export function portInfo(uuid: string, row: Row, switchName: string | undefined): LogicalPortInfo {
  return {
    uuid,
    name: String(row.name),
    switchName,
    type: String(row.type ?? ""),
    addresses: strings(row.addresses),
    portSecurity: strings(row.port_security),
    options: recordOf(row.options),
    up: optionalOf(row.up) === true,
    enabled: optionalOf(row.enabled) !== false,
    externalIds: recordOf(row.external_ids),
  };
}

export function aclInfo(uuid: string, row: Row): AclInfo {
  const name = optionalOf(row.name);
  return {
    uuid,
    name: name === undefined ? undefined : String(name),
    direction: String(row.direction),
    priority: Number(row.priority),
    match: String(row.match),
    action: String(row.action),
    externalIds: recordOf(row.external_ids),
  };
}
