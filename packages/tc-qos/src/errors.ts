// The package's errors. Kernel refusals are NetlinkError (from @vmnet/netlink-native), and a
// failed multi-step change is StepError (from @vmnet/netlink-native/plan, shared by every layer).

/** Base of every error this package throws itself. */
export class TcError extends Error {
  override readonly name: string = "TcError";
}

/**
 * Bad input to a public function: names the field and says what is wrong with it, in one
 * sentence (`rate: "10mbs" has an unknown unit "mbs" (use bit, kbit, mbit, gbit, ... or Bps, KBps, ...)`).
 */
export class TcInputError extends TcError {
  override readonly name = "TcInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
