// One queue per bridge: work on one bridge runs in order, bridges run in parallel (minimega has one
// global lock for everything). A failed job does not block the ones after it.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job, job);
    this.tail = result.then(
      () => this.done(),
      () => this.done(),
    );
    return result;
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.pending;
  }

  private done(): void {
    this.pending--;
  }
}
