// The frames a server sends, reported in the order they were sent. A send completes on libuv's
// pool, and two sends' completions can come back in either order: the thread that sent an
// ADVERTISE can be descheduled before it reports, while the client, which already has the frame,
// sends its REQUEST and the REPLY's send completes first. Counters and events follow the order
// of sending, so a consumer never sees a REPLY before the ADVERTISE it answers.

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export class OrderedSends {
  /**
   * Settles once every send added so far has been reported (each report waits for the one before
   * it); never rejects.
   */
  private last: Promise<void> = Promise.resolve();

  /** Calls `onSent` or `onFailed` for `sending` once every send added before it was reported. */
  add(sending: Promise<unknown>, onSent: () => void, onFailed: (error: Error) => void): void {
    // Handled at once, so a send that fails while an earlier one is still out is not unhandled.
    const outcome = sending.then(
      () => undefined,
      (e: unknown) => asError(e),
    );
    const reported = this.last
      .then(() => outcome)
      .then((error) => (error ? onFailed(error) : onSent()))
      .catch(() => undefined); // a throwing callback must not stop the sends behind it
    this.last = reported;
  }

  /** Settles when every send added so far has been reported. */
  settled(): Promise<unknown> {
    return this.last;
  }
}
