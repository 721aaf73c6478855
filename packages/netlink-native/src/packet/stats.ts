import { NetlinkDecodeError } from "../codec/decode-error.js";

/** struct rtnl_link_stats64, the fields tools print (bigint: counters are 64-bit). */
export interface LinkStats {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  multicast: bigint;
  collisions: bigint;
}

const FIELDS: (keyof LinkStats)[] = [
  "rxPackets",
  "txPackets",
  "rxBytes",
  "txBytes",
  "rxErrors",
  "txErrors",
  "rxDropped",
  "txDropped",
  "multicast",
  "collisions",
];

export function decodeLinkStats64(b: Buffer): LinkStats {
  if (b.length < FIELDS.length * 8) throw new NetlinkDecodeError(`rtnl_link_stats64 of ${b.length} bytes`, 0);
  const out = {} as LinkStats;
  for (let i = 0; i < FIELDS.length; i++) out[FIELDS[i] as keyof LinkStats] = u64(b, i * 8);
  return out;
}

/** A counter; zero (every counter of a link just made) is one shared value, not a new bigint. */
function u64(b: Buffer, at: number): bigint {
  return b.readUInt32LE(at) === 0 && b.readUInt32LE(at + 4) === 0 ? 0n : b.readBigUInt64LE(at);
}
