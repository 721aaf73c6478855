// When the current event-loop turn began, shared by the whole process (reset from the check
// phase, so every caller in one turn reads the same value).
//
// Answers for many connections arrive in the same poll phase; with a clock of their own each
// dispatched a budget's worth, and the turn lasted as many budgets as there were connections.
// Gates that count what they let go per turn (in-flight-gate.ts) use the same clock.

let turnStartedAt = -1;
const endTurn = (): void => {
  turnStartedAt = -1;
};

/** performance.now() at this turn's first call (the same value until the turn ends). */
export function turnStart(): number {
  if (turnStartedAt < 0) {
    turnStartedAt = performance.now();
    setImmediate(endTurn);
  }
  return turnStartedAt;
}
