import { NetlinkNativeError } from "./base-error.js";

/**
 * The only error the decoders throw: bytes that do not form a valid netlink message or attribute.
 * Hostile or truncated input must end here, never as a RangeError from a Buffer read.
 */
export class NetlinkDecodeError extends NetlinkNativeError {
  override readonly name = "NetlinkDecodeError";
  constructor(
    message: string,
    /** Byte offset in the buffer being decoded where the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}
