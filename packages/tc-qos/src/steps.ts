// Multi-step changes that undo themselves: each step knows how to put back what it changed, and
// a failure undoes the completed steps in reverse before reporting which step failed.
import { QosApplyError } from "./errors.js";

export interface Step {
  name: string;
  run(): Promise<void>;
  undo?(): Promise<void>;
}

/** Runs steps in order; on a failure, undoes the done ones in reverse and throws QosApplyError. */
export async function runSteps(link: string, steps: readonly Step[]): Promise<void> {
  const done: Step[] = [];
  for (const step of steps) {
    try {
      await step.run();
      done.push(step);
    } catch (e) {
      const rollbackErrors: Error[] = [];
      const undone = done.length;
      for (const d of done.reverse()) {
        if (!d.undo) continue;
        try {
          await d.undo();
        } catch (u) {
          rollbackErrors.push(u instanceof Error ? u : new Error(String(u)));
        }
      }
      throw new QosApplyError(
        link,
        step.name,
        e instanceof Error ? e : new Error(String(e)),
        rollbackErrors,
        undone,
      );
    }
  }
}
