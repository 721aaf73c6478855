import type { RawAttr } from "../../codec/attrs.js";
import type { AttrWriter } from "../../codec/writer.js";

/**
 * One link kind as a small self-describing plugin: how its IFLA_INFO_DATA is written for a
 * request and read back from the kernel. `R` is the spec with names already resolved to indexes.
 */
export interface KindCodec<R> {
  kind: string;
  /** Writes the contents of IFLA_INFO_DATA, or undefined when the kind sends none. */
  encode?: (w: AttrWriter, spec: R) => void;
  decode?: (attrs: RawAttr[]) => Record<string, unknown>;
}
