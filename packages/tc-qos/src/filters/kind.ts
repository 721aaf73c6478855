// A filter (classifier) kind as a small self-describing plugin, the same contract as the qdisc
// kinds (src/kinds/kind.ts), the action kinds (src/actions/kind.ts) and netlink-native's link
// kinds: its name, the zod schema of what a user writes, how its handle is written and read,
// how to write TCA_OPTIONS (with its actions, their links resolved) and how to read the kernel's
// back. The registry (registry.ts) derives the rest.
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import type { z } from "zod";
import type { ResolvedAction } from "../actions/action.js";
import type { Handle } from "../handle.js";
import type { CodecContext } from "../kinds/kind.js";

export interface FilterKind<K extends string = string, S extends z.ZodType = z.ZodType, Info = unknown> {
  readonly kind: K;
  /** Validates and parses the kind's own options (`{ kind, ... }` without parent/prio/...). */
  readonly schema: S;
  /** The filter handle as this kind writes it (u32: "800::800"); absent: "major:minor". */
  readonly handle?: {
    parse(input: Handle, field: string): number;
    format(handle: number): string;
  };
  /** Writes TCA_OPTIONS; `actions` are the spec's actions with their links resolved. */
  encode(w: AttrWriter, options: z.output<S>, actions: readonly ResolvedAction[], ctx: CodecContext): void;
  /** Reads the kernel's TCA_OPTIONS payload (undefined when the kernel sent none). */
  decode(options: Buffer | undefined, ctx: CodecContext): Info;
  /** Turns the kernel's dump of TCA_OPTIONS into what a create request takes; absent: as dumped. */
  restore?(dumped: Buffer): Buffer;
}

/** Helps TypeScript keep each plugin's own types while registering them together. */
export function defineFilterKind<K extends string, S extends z.ZodType, Info>(
  k: FilterKind<K, S, Info>,
): FilterKind<K, S, Info> {
  return k;
}
