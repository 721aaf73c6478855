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
