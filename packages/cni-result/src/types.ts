// The TypeScript shapes of CNI results, one per result family. They are written out (not inferred
// from the zod schemas) so the published declarations read like the spec and do not depend on
// zod's inference machinery.

import type { LegacyVersion, V1Version, V04xVersion } from "./versions.js";

/** DNS information of a result or a network configuration. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route of a 0.1.0/0.2.0 result: only a destination and a next hop. */
export interface LegacyRoute {
  /** Destination in CIDR notation. */
  dst: string;
  /** Next hop; when absent the plugin's default gateway is meant. */
  gw?: string;
}

/** The `ip4`/`ip6` object of a 0.1.0/0.2.0 result. */
export interface LegacyIpConfig {
  /** Address with prefix length, in CIDR notation ("10.1.0.5/16"). */
  ip: string;
  gateway?: string;
  routes?: LegacyRoute[];
}

/** A 0.1.0/0.2.0 result: at most one IPv4 and one IPv6 configuration, no interfaces. */
export interface Result020 {
  cniVersion: LegacyVersion;
  ip4?: LegacyIpConfig;
  ip6?: LegacyIpConfig;
  dns?: Dns;
}

/**
 * A route of a 0.3.0+ result. The fields after `gw` were added by spec 1.1.0; libcni uses one
 * route type for every version from 0.3.0 on, so they are read (and kept) in older results too.
 */
export interface Route {
  /** Destination in CIDR notation ("0.0.0.0/0" for a default route). */
  dst: string;
  /** Next hop; when absent, the `gateway` of the matching `ips` entry may be used. */
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  /** Routing table id. */
  table?: number;
  /** Route scope (rtm_scope: 0 universe, 253 link, 254 host). */
  scope?: number;
}

/** An interface of a 0.3.0/0.3.1/0.4.0 result. */
export interface Interface040 {
  name: string;
  mac?: string;
  /** Netns path (or hypervisor id) for interfaces inside a sandbox; absent for host interfaces. */
  sandbox?: string;
}

/** An `ips` entry of a 0.3.0/0.3.1/0.4.0 result. */
export interface IpConfig040 {
  /** IP version of `address`: "4" or "6" (removed in 1.0.0). */
  version: "4" | "6";
  /** Address with prefix length, in CIDR notation. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; IPAM plugins leave it out. */
  interface?: number;
}

/** A 0.3.0/0.3.1/0.4.0 result. */
export interface Result040 {
  cniVersion: V04xVersion;
  interfaces?: Interface040[];
  ips?: IpConfig040[];
  routes?: Route[];
  dns?: Dns;
}

/** An interface of a 1.0.0/1.1.0 result; `mtu`, `socketPath` and `pciID` came with 1.1.0. */
export interface InterfaceV1 {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  /** Path of a vhost-user (or similar) socket that represents the interface. */
  socketPath?: string;
  /** PCI id of a device handed to the sandbox (SR-IOV VF, for example). */
  pciID?: string;
}

/** An `ips` entry of a 1.0.0/1.1.0 result. */
export interface IpConfigV1 {
  /** Address with prefix length, in CIDR notation. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; IPAM plugins leave it out. */
  interface?: number;
}

/** A 1.0.0/1.1.0 result: what Virtlet calls `cnicurrent.Result`. */
export interface ResultV1 {
  cniVersion: V1Version;
  interfaces?: InterfaceV1[];
  ips?: IpConfigV1[];
  routes?: Route[];
  dns?: Dns;
}

/** A CNI result of any supported spec version; `cniVersion` tells which shape it has. */
export type CniResult = Result020 | Result040 | ResultV1;

/** The error a plugin prints on stdout when it fails. */
export interface CniErrorResult {
  cniVersion?: string;
  /** 1-99 are well-known codes (see WELL_KNOWN_ERROR_CODES); 100+ are plugin-specific. */
  code: number;
  msg: string;
  details?: string;
}

/** The `ipam` section of a plugin configuration; its other keys belong to the IPAM plugin. */
export interface IpamConfig {
  type?: string;
  [key: string]: unknown;
}

/** A plugin configuration; keys the spec does not define are the plugin's and are kept. */
export interface PluginConfig {
  type: string;
  cniVersion?: string;
  name?: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConfig;
  dns?: Dns;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  ipMasq?: boolean;
  /** The previous plugin's result (chained ADD, CHECK, DEL), parsed with the config's version. */
  prevResult?: CniResult;
  [key: string]: unknown;
}

/** A plugin configuration as a plugin reads it on stdin: version and name are required. */
export interface NetworkConfig extends PluginConfig {
  cniVersion: string;
  name: string;
}

/** A network configuration list (.conflist). */
export interface NetworkConfigList {
  cniVersion: string;
  /** 1.1.0: all versions the list supports. */
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean | "true" | "false";
  /** 1.1.0: runtimes must not run GC for this network. */
  disableGC?: boolean;
  plugins: PluginConfig[];
  [key: string]: unknown;
}
