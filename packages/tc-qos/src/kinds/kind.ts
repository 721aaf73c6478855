// A qdisc kind as a small self-describing plugin (as pyroute2 does): its name, the zod schema of
// its options, how to write them into TCA_OPTIONS and how to read the kernel's dump back. Classful
// kinds (htb) describe their classes the same way.
import type { AttrWriter } from "@vmnet/netlink-native/codec";
import type { z } from "zod";
import type { Psched } from "../psched.js";

export interface CodecContext {
  psched: Psched;
}

export interface OptionsCodec<In, Parsed, Info> {
  /** Validates and parses the options a user wrote (units as tc writes them). */
  readonly schema: z.ZodType<Parsed, In>;
  /** Writes TCA_OPTIONS (nothing at all for kinds that take no options). */
  encode(w: AttrWriter, options: Parsed, ctx: CodecContext): void;
  /** Reads the kernel's TCA_OPTIONS payload (undefined when the kernel sent none). */
  decode(options: Buffer | undefined, ctx: CodecContext): Info;
}

export interface QdiscKind<In = unknown, Parsed = unknown, Info = unknown>
  extends OptionsCodec<In, Parsed, Info> {
  readonly kind: string;
  /** Where the qdisc must sit, for kinds with a fixed place (ingress, clsact). */
  readonly fixedPlace?: { handle: number; parent: number };
  /**
   * Turns the kernel's dump of TCA_OPTIONS into what a create request takes, for kinds whose dump
   * differs (htb reports its full version where creation wants the major). Absent: sent as dumped.
   */
  readonly restore?: (dumped: Buffer) => Buffer;
  /** Classful kinds: how their classes are written and read. */
  readonly classes?: OptionsCodec<unknown, unknown, unknown>;
}

/** Helps TypeScript keep each plugin's own types while registering them together. */
export function defineQdiscKind<In, Parsed, Info>(
  k: QdiscKind<In, Parsed, Info>,
): QdiscKind<In, Parsed, Info> {
  return k;
}
