// Queues a function as a microtask through an already-settled promise. Node's queueMicrotask()
// wraps every call in an AsyncResource and a bound function (two objects and a closure per
// call); on the request path it ran once per admitted caller and once per slice of answers, 0.8
// KiB per link of a storm. A reaction on a settled promise takes the same place in V8's one
// microtask queue (FIFO with the continuations it follows) and costs one derived promise.
//
// `fn` must not throw (it would surface as an unhandled rejection instead of an uncaught
// exception): every caller here only reads clocks and counters and schedules work.
const SETTLED: Promise<void> = Promise.resolve();

export function enqueueMicrotask(fn: () => void): void {
  void SETTLED.then(fn);
}
