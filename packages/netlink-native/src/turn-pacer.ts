// Paces callers over event-loop turns: at most `perTurn` of them go on in one turn, the rest on
// later ones (setImmediate). A caller that starts a thousand operations at once (Promise.all over
// a map) would otherwise do all of their synchronous work (validation, encoding, handing work to
// the thread pool) in one turn and hold timers and I/O for tens of milliseconds.

const ADMITTED = Promise.resolve();

export class TurnPacer {
  private admittedThisTurn = 0;
  private readonly waiting: (() => void)[] = [];
  private turnScheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Resolves when the caller may do its synchronous work (at once while this turn has room). */
  admit(): Promise<void> {
    this.scheduleTurn();
    if (this.admittedThisTurn < this.perTurn) {
      this.admittedThisTurn++;
      return ADMITTED;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      const next = this.waiting.splice(0, this.perTurn);
      this.admittedThisTurn = next.length;
      for (const resolve of next) resolve();
      if (next.length > 0) this.scheduleTurn();
    });
  }
}
