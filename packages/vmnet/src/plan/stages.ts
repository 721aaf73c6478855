// A plan in stages: the steps of one stage do not depend on each other, so they run at once and
// their kernel round trips overlap; a stage starts when the one before it has finished. Rollback
// is the plain plan's: on the first failure every completed step (of this stage and the earlier
// ones) is undone in reverse, and one StepError names the failed step. A setup of a dozen
// dependent-looking netlink changes is in fact three waves, so it costs three round trips, not
// twelve.
import { type PlanOptions, type Step, StepError, undoSteps } from "@vmnet/netlink-native/plan";
import { turnRoom } from "./turn-room.js";

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Starts a step now: its synchronous part (encoding its requests) runs before the next step's,
 * inside the turn the stage was given room in. A step that throws instead of rejecting fails
 * like one that rejects.
 */
function start(s: Step): Promise<void> {
  try {
    return Promise.resolve(s.run());
  } catch (e) {
    return Promise.reject(e);
  }
}

interface Failure {
  step: Step;
  index: number;
  errors: unknown[];
}

/**
 * Runs `stages` in order, the steps of each stage concurrently. `beforeStep(step, i)` is called
 * for each step in order, with its index counted across all stages (a fault injected at index k
 * fails step k before it runs; its stage's earlier steps have started and are undone).
 */
export async function runStages(
  stages: readonly (readonly Step[])[],
  options: PlanOptions = {},
): Promise<void> {
  const done: Step[] = [];
  let index = 0;
  for (const stage of stages) {
    // Several plans running at once share the event loop's turns (see turn-room.ts).
    await turnRoom();
    const launched: { step: Step; index: number; run: Promise<void> }[] = [];
    let failure: Failure | undefined;
    for (const s of stage) {
      const i = index++;
      try {
        if (options.beforeStep) await options.beforeStep(s, i);
      } catch (e) {
        failure = { step: s, index: i, errors: [e] };
        break;
      }
      launched.push({ step: s, index: i, run: start(s) });
    }
    const settled = await Promise.allSettled(launched.map((l) => l.run));
    for (const [k, r] of settled.entries()) {
      const l = launched[k] as (typeof launched)[number];
      if (r.status === "fulfilled") done.push(l.step);
      else if (!failure || l.index < failure.index) {
        // The earliest failed step is the one reported; the others' errors go with it.
        failure = { step: l.step, index: l.index, errors: [r.reason, ...(failure?.errors ?? [])] };
      } else failure.errors.push(r.reason);
    }
    if (failure) {
      const undoErrors = await undoSteps(done);
      const cause =
        failure.errors.length === 1
          ? failure.errors[0]
          : new AggregateError(
              failure.errors.map(asError),
              failure.errors.map((e) => asError(e).message).join("; "),
            );
      throw new StepError(
        options.subject ?? "",
        failure.step.name,
        failure.index,
        cause,
        done.length,
        undoErrors,
      );
    }
  }
}
