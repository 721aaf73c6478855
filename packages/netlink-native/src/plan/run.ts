// Runs a plan: steps in order; on the first failure the completed steps are undone in reverse
// and one StepError says what happened. Undo failures do not stop the rollback: every remaining
// step still gets its chance, and each failure is reported.
import type { Step } from "./step.js";
import { asError, StepError, type UndoFailure } from "./step-error.js";

export interface PlanOptions {
  /** What the plan is about, for the error message (`qos on tap0`). */
  subject?: string;
  /**
   * Called before each step runs; throwing here fails that step as if it had failed itself. Tests
   * use it to inject a fault at every position and prove the rollback.
   */
  beforeStep?(step: Step, index: number): void | Promise<void>;
}

/** What a successful run did: the steps, in order, so a caller can undo them later. */
export interface CompletedPlan {
  readonly steps: readonly Step[];
  /** Undoes every step in reverse; throws StepError-like aggregate when an undo fails. */
  undo(): Promise<void>;
}

/** Undoes `done` in reverse; returns the failures (never throws). */
export async function undoSteps(done: readonly Step[]): Promise<UndoFailure[]> {
  const failures: UndoFailure[] = [];
  for (let i = done.length - 1; i >= 0; i--) {
    const s = done[i] as Step;
    if (!s.undo) continue;
    try {
      await s.undo();
    } catch (e) {
      failures.push({ step: s.name, error: asError(e) });
    }
  }
  return failures;
}

/** An undo of a completed plan that failed part-way; every step was still tried. */
export class UndoError extends Error {
  override readonly name = "UndoError";
  constructor(
    readonly subject: string,
    readonly failures: readonly UndoFailure[],
  ) {
    super(
      `${subject ? `${subject}: ` : ""}${failures.length} step(s) could not be undone: ${failures
        .map((f) => `${f.step}: ${f.error.message}`)
        .join("; ")}`,
    );
  }
}

/** Runs `steps`; on failure rolls back and throws StepError. */
export async function runPlan(steps: readonly Step[], options: PlanOptions = {}): Promise<CompletedPlan> {
  const subject = options.subject ?? "";
  const done: Step[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as Step;
    try {
      if (options.beforeStep) await options.beforeStep(s, i);
      await s.run();
    } catch (e) {
      const undoErrors = await undoSteps(done);
      throw new StepError(subject, s.name, i, e, done.length, undoErrors);
    }
    done.push(s);
  }
  return {
    steps: done,
    async undo() {
      const failures = await undoSteps(done);
      if (failures.length > 0) throw new UndoError(subject, failures);
    },
  };
}
