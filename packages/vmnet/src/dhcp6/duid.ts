// Server DUIDs (RFC 8415 11). A client binds to the server whose DUID answered it, so a server that
// restarts with another DUID sees its guests' Renews refused as "other-server" until they Rebind.
// vmnet's DUIDs are therefore derived from something the caller keeps stable: DUID-LL (type 3,
// hardware type 1) over a MAC, either a device's or one hashed from a seed such as a netns id.
import { createHash } from "node:crypto";

/** DUID-LL of `mac` (6 bytes) as hex. */
export function duidLl(mac: Uint8Array): string {
  return Buffer.concat([Buffer.from([0, 3, 0, 1]), mac.subarray(0, 6)]).toString("hex");
}

/**
 * A DUID-LL whose link-layer address is hashed from `seed` (locally administered, unicast): the
 * same seed gives the same DUID in every process, on every machine.
 */
export function stableDuid(seed: string): string {
  const mac = createHash("sha256").update(`vmnet dhcp6 server ${seed}`).digest().subarray(0, 6);
  mac[0] = ((mac[0] as number) & 0xfc) | 0x02;
  return duidLl(mac);
}
