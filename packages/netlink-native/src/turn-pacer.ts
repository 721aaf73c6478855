// Paces callers over event-loop turns, by count and by time. A caller that starts a thousand
// operations at once (Promise.all over a map) would otherwise do all of their synchronous work
// (validation, encoding, handing work to the thread pool) in one turn and hold timers and I/O for
// tens of milliseconds.
//
// Counting alone is not enough: what one admission costs varies (a veth spec's schema run and
// encode, a cold code path, a loaded machine), and 64 of them measured 4-8 ms in one turn. So
// waiting callers are let go one at a time in a chain of microtasks: each link of the chain runs
// after the previous caller's synchronous work, reads the clock, and stops the turn once its time
// budget is spent; the rest go on in later turns (setImmediate), after timers and I/O.
import { enqueueMicrotask } from "./microtask.js";
import { TURN_BUDGET_MS } from "./turn-budget.js";

const ADMITTED = Promise.resolve();

/**
 * What a caller's turn also depends on (its connection's requests in flight): asked when the
 * caller's turn comes; a caller that may not go yet is handed to `park`, which lets it go later
 * through `enqueue`.
 */
export interface AdmitGate {
  mayGo(): boolean;
  park(resolve: () => void): void;
}

/**
 * Admissions granted at once (no wait) per turn while nobody is waiting: a lone request is not
 * delayed by a turn, and a synchronous burst of a thousand calls sends its first few right away.
 */
const IMMEDIATE_PER_TURN = 16;

export class TurnPacer {
  private immediateThisTurn = 0;
  /** Waiting callers, oldest first from `head` (no shift(): a long queue is not copied). */
  private waiting: (() => void)[] = [];
  /** Each waiting caller's gate (same positions as `waiting`). */
  private gates: (AdmitGate | undefined)[] = [];
  /** The gate of the caller whose promise is being made (read by `wait`). */
  private gateOfNext: AdmitGate | undefined;
  private head = 0;
  private turnScheduled = false;
  private releasing = false;
  /** The running chain's turn start and how many it let go (fields, not a closure per caller). */
  private chainStart = 0;
  private chainReleased = 0;

  /**
   * @param perTurn most callers let go per turn
   * @param budgetMs time after which a turn lets no more callers go (checked between callers)
   */
  constructor(
    private readonly perTurn: number,
    private readonly budgetMs = TURN_BUDGET_MS,
  ) {}

  /**
   * Resolves when the caller may do its synchronous work (at once while this turn has room and
   * `gate`, if given, lets it go).
   */
  admit(gate?: AdmitGate): Promise<void> {
    this.scheduleTurn();
    if (this.head === this.waiting.length && !this.releasing) {
      if (this.immediateThisTurn < Math.min(IMMEDIATE_PER_TURN, this.perTurn) && (!gate || gate.mayGo())) {
        this.immediateThisTurn++;
        return ADMITTED;
      }
    }
    this.gateOfNext = gate;
    return new Promise<void>(this.wait);
  }

  /** Queues a caller a gate held, now let go by it (it already waits on its own promise). */
  enqueue(resolve: () => void, gate?: AdmitGate): void {
    this.scheduleTurn();
    this.waiting.push(resolve);
    this.gates.push(gate);
  }

  /** Queues a waiting caller's resolve: one executor for the pacer's life, not one per caller. */
  private readonly wait = (resolve: () => void): void => {
    this.waiting.push(resolve);
    this.gates.push(this.gateOfNext);
    this.gateOfNext = undefined;
  };

  private get waitingCount(): number {
    return this.waiting.length - this.head;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.immediateThisTurn = 0;
      if (this.waitingCount > 0) this.releaseChain(performance.now(), 0);
    });
  }

  /** Lets one caller go, then (after its synchronous work) decides whether another may follow. */
  private releaseChain(turnStart: number, released: number): void {
    this.releasing = true;
    this.chainStart = turnStart;
    this.chainReleased = released;
    // Callers whose gate says "not yet" are handed to it, and the next one is looked at.
    while (this.waitingCount > 0) {
      const resolve = this.waiting[this.head] as () => void;
      const gate = this.gates[this.head];
      this.waiting[this.head] = undefined as unknown as () => void;
      this.gates[this.head] = undefined;
      this.head++;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.gates = [];
        this.head = 0;
      }
      if (gate && !gate.mayGo()) {
        gate.park(resolve);
        continue;
      }
      resolve();
      // Queued after the caller's continuation: runs once that has done its synchronous part.
      enqueueMicrotask(this.afterRelease);
      return;
    }
    this.releasing = false;
  }

  /** The chain's next link (one function for the pacer's life, not one per caller). */
  private readonly afterRelease = (): void => {
    const n = this.chainReleased + 1;
    if (this.waitingCount > 0 && n < this.perTurn && performance.now() - this.chainStart < this.budgetMs) {
      this.releaseChain(this.chainStart, n);
      return;
    }
    this.releasing = false;
    if (this.waitingCount > 0) this.scheduleTurn();
  };
}
