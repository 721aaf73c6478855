/**
 * Bad input to a public function: names the field and says what is wrong with it, in one
 * sentence (`rate: "10mbs" has an unknown unit "mbs" (use bit, kbit, mbit, gbit, ... or Bps, KBps, ...)`).
 */
export class TcInputError extends Error {
  override readonly name = "TcInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * A multi-step QoS operation failed at `step`. What it had already changed was undone (in reverse
 * order) before this was thrown; `rollbackErrors` lists undo steps that failed too (empty when the
 * link is back as it was).
 */
export class QosApplyError extends Error {
  override readonly name = "QosApplyError";
  constructor(
    readonly link: string,
    readonly step: string,
    override readonly cause: Error,
    readonly rollbackErrors: Error[],
    /** How many completed steps were undone. */
    readonly undone: number,
  ) {
    super(
      `${link}: ${step} failed: ${cause.message}; ${
        rollbackErrors.length > 0
          ? `rollback failed too: ${rollbackErrors.map((e) => e.message).join("; ")}`
          : undone === 0
            ? "nothing had been changed"
            : `the ${undone} step(s) before it were undone`
      }`,
    );
  }
}
