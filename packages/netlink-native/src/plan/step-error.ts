// The one step-failure error shared by every layer: which step failed and why, how many of the
// steps before it were undone, and every undo that itself failed (nothing is swallowed).

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** An undo that failed during rollback: which step it belonged to, and why. */
export interface UndoFailure {
  readonly step: string;
  readonly error: Error;
}

/**
 * A plan stopped at `step`; the completed steps before it were undone in reverse. When
 * `undoErrors` is empty the system is back where the plan started; otherwise each entry says which
 * step could not be put back.
 */
export class StepError extends Error {
  override readonly name = "StepError";
  /** Name of the step that failed. */
  readonly step: string;
  /** Zero-based position of that step in its plan. */
  readonly index: number;
  /** Number of completed steps that were rolled back (successfully or not). */
  readonly undone: number;
  readonly undoErrors: readonly UndoFailure[];
  /** What the plan was about, e.g. `qos on tap0`; empty when the caller gave none. */
  readonly subject: string;
  constructor(
    subject: string,
    step: string,
    index: number,
    cause: unknown,
    undone: number,
    undoErrors: readonly UndoFailure[],
  ) {
    const err = asError(cause);
    const where = subject ? `${subject}: ` : "";
    const rollback =
      undoErrors.length === 0
        ? `${undone} earlier step(s) undone`
        : `${undone} earlier step(s) rolled back, ${undoErrors.length} could not be undone (${undoErrors
            .map((u) => `${u.step}: ${u.error.message}`)
            .join("; ")})`;
    super(`${where}step "${step}" failed: ${err.message}; ${rollback}`, { cause: err });
    this.step = step;
    this.index = index;
    this.undone = undone;
    this.undoErrors = undoErrors;
    this.subject = subject;
  }
  /** True when every completed step was put back. */
  get rolledBack(): boolean {
    return this.undoErrors.length === 0;
  }
}

export { asError };
