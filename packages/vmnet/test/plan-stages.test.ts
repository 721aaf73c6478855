// runStages: the steps of a stage overlap; on a failure every completed step (its stage's and the
// earlier stages') is undone in reverse and one StepError names the earliest failed step.
import { describe, expect, test } from "vitest";
import { StepError } from "../src/errors.js";
import { runStages } from "../src/plan/stages.js";
import { type Step, step } from "../src/plan/step.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const make = (name: string, opts: { ms?: number; fail?: boolean } = {}): Step =>
    step(
      name,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await tick(opts.ms ?? 5);
        running--;
        if (opts.fail) throw new Error(`${name} broke`);
        log.push(`run ${name}`);
      },
      async () => {
        log.push(`undo ${name}`);
      },
    );
  return { log, make, peak: () => peak };
}

describe("runStages", () => {
  test("steps of a stage run at once; stages run in order", async () => {
    const r = recorder();
    const seen: [string, number][] = [];
    await runStages([[r.make("a")], [r.make("b", { ms: 20 }), r.make("c", { ms: 5 })], [r.make("d")]], {
      beforeStep: (s, i) => {
        seen.push([s.name, i]);
      },
    });
    expect(r.peak()).toBe(2);
    expect(r.log).toEqual(["run a", "run c", "run b", "run d"]);
    expect(seen).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
      ["d", 3],
    ]);
  });

  test("a fault injected at every index undoes exactly what ran, in reverse", async () => {
    const names = ["a", "b", "c", "d", "e"];
    for (let k = 0; k < names.length; k++) {
      const r = recorder();
      const stages = [[r.make("a")], [r.make("b"), r.make("c"), r.make("d")], [r.make("e")]];
      const error = await runStages(stages, {
        subject: "demo",
        beforeStep: (_s, i) => {
          if (i === k) throw new Error(`injected at ${k}`);
        },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      const e = error as StepError;
      expect(e.step).toBe(names[k]);
      expect(e.index).toBe(k);
      expect(e.rolledBack).toBe(true);
      // What ran before the fault in its stage and earlier stages is undone, last first.
      const ran = r.log.filter((l) => l.startsWith("run ")).map((l) => l.slice(4));
      const undone = r.log.filter((l) => l.startsWith("undo ")).map((l) => l.slice(5));
      expect(undone).toEqual([...ran].reverse());
      expect(e.undone).toBe(ran.length);
      expect(ran).toEqual(names.slice(0, k));
    }
  });

  test("two failures in one stage: the earlier is reported, both causes kept, the sibling undone", async () => {
    const r = recorder();
    const error = await runStages([
      [r.make("a")],
      [r.make("b", { fail: true, ms: 10 }), r.make("c"), r.make("d", { fail: true, ms: 1 })],
      [r.make("never")],
    ]).catch((e: unknown) => e);
    const e = error as StepError;
    expect(e).toBeInstanceOf(StepError);
    expect(e.step).toBe("b");
    expect(e.index).toBe(1);
    expect(e.cause).toBeInstanceOf(AggregateError);
    expect((e.cause as AggregateError).errors.map((x: Error) => x.message)).toEqual(["b broke", "d broke"]);
    expect(r.log).toEqual(["run a", "run c", "undo c", "undo a"]);
    expect(e.undone).toBe(2);
  });

  test("an undo that fails is reported, and the rest still run", async () => {
    const log: string[] = [];
    const bad = step(
      "bad-undo",
      async () => {
        log.push("run bad-undo");
      },
      async () => {
        throw new Error("cannot put back");
      },
    );
    const good = step(
      "good",
      async () => {
        log.push("run good");
      },
      async () => {
        log.push("undo good");
      },
    );
    const boom = step("boom", async () => {
      throw new Error("boom");
    });
    const e = (await runStages([[good], [bad, boom]]).catch((x: unknown) => x)) as StepError;
    expect(e.step).toBe("boom");
    expect(e.rolledBack).toBe(false);
    expect(e.undoErrors.map((u) => u.step)).toEqual(["bad-undo"]);
    expect(log).toEqual(["run good", "run bad-undo", "undo good"]);
  });
});
