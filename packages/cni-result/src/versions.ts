// The CNI spec versions a result can carry, grouped by the shape of their result type. libcni
// groups them the same way: one Go type serves 0.1.0/0.2.0, one 0.3.0–0.4.0, one 1.0.0–1.1.0.

/** Spec versions with the legacy `ip4`/`ip6` result (0.1.0, 0.2.0). */
export const LEGACY_VERSIONS = ["0.1.0", "0.2.0"] as const;
/** Spec versions whose `ips` entries carry a `version` field (0.3.0, 0.3.1, 0.4.0). */
export const V04X_VERSIONS = ["0.3.0", "0.3.1", "0.4.0"] as const;
/** Spec versions of the 1.x result (no `version` in `ips`; 1.1.0 adds interface and route fields). */
export const V1_VERSIONS = ["1.0.0", "1.1.0"] as const;

/** Every CNI spec version this package reads, writes and converts between, oldest first. */
export const CNI_VERSIONS = [...LEGACY_VERSIONS, ...V04X_VERSIONS, ...V1_VERSIONS] as const;

export type LegacyVersion = (typeof LEGACY_VERSIONS)[number];
export type V04xVersion = (typeof V04X_VERSIONS)[number];
export type V1Version = (typeof V1_VERSIONS)[number];
export type CniVersion = (typeof CNI_VERSIONS)[number];

export function isCniVersion(value: unknown): value is CniVersion {
  return typeof value === "string" && (CNI_VERSIONS as readonly string[]).includes(value);
}

export function isLegacyVersion(version: CniVersion): version is LegacyVersion {
  return (LEGACY_VERSIONS as readonly string[]).includes(version);
}

export function isV04xVersion(version: CniVersion): version is V04xVersion {
  return (V04X_VERSIONS as readonly string[]).includes(version);
}

export function isV1Version(version: CniVersion): version is V1Version {
  return (V1_VERSIONS as readonly string[]).includes(version);
}
