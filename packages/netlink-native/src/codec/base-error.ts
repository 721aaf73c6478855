/**
 * The base of every error this package throws, so a caller can tell ours from anything else with
 * one `instanceof`. Lives in the codec (the lowest, pure layer) so the codec's own error can
 * extend it without importing anything with I/O.
 */
export class NetlinkNativeError extends Error {
  override readonly name: string = "NetlinkNativeError";
}
