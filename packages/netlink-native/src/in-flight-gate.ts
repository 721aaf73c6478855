// Holds a connection's callers, in call order, while its window of requests in flight is full.
//
// A caller that starts a thousand operations at once would otherwise have all of them in flight:
// each one's requests, promises and suspended frames live until the kernel reaches it, and every
// young-generation collection meanwhile copies and promotes them. Those pauses were a 1000-link
// storm's longest event-loop turns. The kernel runs one connection's requests one after another,
// so a window of a hundred or so keeps it just as busy.
//
// The turn pacer asks the gate when a caller's turn comes (not when it calls): callers let go in
// the same turn count against the window until their requests are queued. A held caller can be a
// nested call of an operation already under way; it cannot wait for itself, because the requests
// in flight that hold it are answered or time out.
import type { AdmitGate, TurnPacer } from "./turn-pacer.js";

/** How soon held callers are looked at again while the window has room but some wait. */
const CHECK_MS = 2;

export class InFlightGate {
  /** For callers arriving: they go only when nobody older is held or on the way back. */
  readonly arriving: AdmitGate;
  /** For held callers handed back to the pacer: the oldest, they go when there is room. */
  private readonly returning: AdmitGate;
  /** Held callers, oldest first. */
  private held: (() => void)[] = [];
  /** How many returning callers were put back at the front since the last release. */
  private putBack = 0;
  /** Held callers handed back to the pacer that have not reached the gate again. */
  private onTheWay = 0;
  private turn = -1;
  private passedThisTurn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly window: number,
    /** Requests sent or queued and not yet answered. */
    private readonly inFlight: () => number,
    /** False once the connection is closed: then everyone goes (and fails as closed). */
    private readonly open: () => boolean,
    private readonly pacer: TurnPacer,
    /** The current event-loop turn's start: the same value for the whole turn. */
    private readonly turnStart: () => number,
    /** In flight at or below which held callers go again (default: half the window). */
    private readonly resumeAt = Math.floor(window / 2),
  ) {
    this.arriving = {
      mayGo: () => this.held.length === 0 && this.onTheWay === 0 && this.room(),
      park: (resolve) => {
        this.held.push(resolve);
        this.scheduleCheck();
      },
    };
    this.returning = {
      mayGo: () => {
        this.onTheWay--;
        return this.room();
      },
      park: (resolve) => {
        // In front of every caller that arrived later, in the order they were handed back.
        this.held.splice(this.putBack++, 0, resolve);
        this.scheduleCheck();
      },
    };
  }

  /** To call as requests are answered, and once the connection is closed. */
  answered(): void {
    if (this.held.length > 0 && (!this.open() || this.inFlight() <= this.resumeAt)) this.release();
  }

  /** Counts a caller against the window if there is room for it. */
  private room(): boolean {
    if (!this.open()) return true;
    const turn = this.turnStart();
    if (turn !== this.turn) {
      this.turn = turn;
      this.passedThisTurn = 0;
    }
    // Callers let go this turn count too: most have not queued their requests yet.
    if (this.inFlight() + this.passedThisTurn >= this.window) return false;
    this.passedThisTurn++;
    return true;
  }

  private release(): void {
    const open = this.open();
    // Those handed back earlier first: releasing more now could let later ones overtake them.
    if (open && this.onTheWay > 0) {
      this.scheduleCheck();
      return;
    }
    const room = open ? this.window - this.inFlight() : this.held.length;
    if (room > 0) {
      const n = Math.min(room, this.held.length);
      const go = this.held.length === n ? this.held : this.held.slice(0, n);
      this.held = this.held.length === n ? [] : this.held.slice(n);
      this.putBack = 0;
      this.onTheWay += n;
      for (let i = 0; i < go.length; i++) this.pacer.enqueue(go[i] as () => void, this.returning);
    }
    if (this.held.length > 0) this.scheduleCheck();
    else if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * A look soon: callers let go may make no request (refused input), and then no answer would
   * come to let the next ones go. A timer, not a look each turn, which would keep the loop busy.
   */
  private scheduleCheck(): void {
    this.timer ??= setTimeout(this.check, CHECK_MS);
  }

  private readonly check = (): void => {
    this.timer = undefined;
    this.answered();
  };
}
