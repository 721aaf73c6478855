// Room left in this event-loop turn for a plan's next chunk of synchronous work.
//
// A hundred container-side setups run four at a time (container/pacing.ts), and their kernel
// answers and pool completions tend to arrive together: without a check, every setup whose answer
// came in this turn goes on to its next stage at once, and four stages of a millisecond or two of
// JavaScript each hold timers and I/O back for 5-10 ms. So before a chunk, a plan asks for room:
// while this turn has used less than the budget it goes on at once (a lone setup waits only when
// its own chunks have filled the turn, and then only until the end of the same loop iteration);
// past it, the chunk waits for a later turn. Waiting chunks are let go one at a time, each after
// the previous one's synchronous part has run, until that turn's budget is spent.

/** The turn's budget for plan chunks (netlink-native paces its own work in 1.5 ms turns too). */
const TURN_BUDGET_MS = 1.5;

const NOW = Promise.resolve();
/** When this turn's first chunk asked; -1 until one asks (reset at the end of the turn). */
let turnStartedAt = -1;
let turnEndScheduled = false;
/** Chunks waiting for room, oldest first. */
const waiting: (() => void)[] = [];
let releasing = false;

/**
 * Resolves at once while this turn has room, else in a later turn (FIFO). One chunk goes at a
 * time: plans resumed by the same batch of answers all ask before any of them has worked, so
 * each one after the first waits until the one before has done its synchronous part.
 */
export function turnRoom(): Promise<void> {
  const now = performance.now();
  if (turnStartedAt < 0) turnStartedAt = now;
  scheduleTurnEnd();
  if (waiting.length === 0 && !releasing && now - turnStartedAt < TURN_BUDGET_MS) {
    releasing = true;
    // The caller's continuation is queued when it awaits the returned (settled) promise, after
    // this call: two hops put afterRelease behind it.
    queueMicrotask(afterOneHop);
    return NOW;
  }
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
  });
}

function afterOneHop(): void {
  queueMicrotask(afterRelease);
}

function scheduleTurnEnd(): void {
  if (turnEndScheduled) return;
  turnEndScheduled = true;
  setImmediate(startTurn);
}

/** A new turn: a fresh budget, and the waiting chunks let go while it lasts. */
function startTurn(): void {
  turnEndScheduled = false;
  turnStartedAt = -1;
  if (waiting.length === 0) return;
  turnStartedAt = performance.now();
  scheduleTurnEnd();
  releaseNext();
}

function releaseNext(): void {
  releasing = true;
  (waiting.shift() as () => void)();
  // Queued behind the released chunk's continuation (queued by the resolve): runs once its
  // synchronous part is done.
  queueMicrotask(afterRelease);
}

function afterRelease(): void {
  releasing = false;
  if (waiting.length > 0 && performance.now() - turnStartedAt < TURN_BUDGET_MS) releaseNext();
}
