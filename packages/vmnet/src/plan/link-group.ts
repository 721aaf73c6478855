// Link groups for links created together, so that deleting them is one request (the kernel then
// waits for RCU once for all of them). Random in a range of 2^24 above 0x7e000000: iproute2 and
// distributions name only small groups, so a clash with a foreign group is unlikely; where it
// matters, callers check a group holds only their links before deleting it.
import { randomInt } from "node:crypto";

/** A random group from our range that is not in `used`. */
export function freeLinkGroup(used: ReadonlySet<number> = new Set()): number {
  let group = 0x7e000000 + randomInt(0x1000000);
  while (used.has(group)) group = 0x7e000000 + randomInt(0x1000000);
  return group;
}
