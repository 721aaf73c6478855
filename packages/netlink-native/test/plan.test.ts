import { describe, expect, it } from "vitest";
import { runPlan, StepError, step, UndoError } from "../src/plan/index.js";

function recorder() {
  const log: string[] = [];
  const mk = (n: string, fail?: "run" | "undo") =>
    step(
      n,
      async () => {
        if (fail === "run") throw new Error(`${n} broke`);
        log.push(`run ${n}`);
      },
      async () => {
        if (fail === "undo") throw new Error(`undo ${n} broke`);
        log.push(`undo ${n}`);
      },
    );
  return { log, mk };
}

describe("runPlan", () => {
  it("runs every step in order and undoes them in reverse on request", async () => {
    const { log, mk } = recorder();
    const done = await runPlan([mk("a"), mk("b"), mk("c")]);
    expect(log).toEqual(["run a", "run b", "run c"]);
    await done.undo();
    expect(log.slice(3)).toEqual(["undo c", "undo b", "undo a"]);
  });

  it("a fault at every position undoes exactly the steps before it", async () => {
    for (let k = 0; k < 4; k++) {
      const { log, mk } = recorder();
      const steps = [mk("a"), mk("b"), mk("c"), mk("d")];
      const err = await runPlan(steps, {
        subject: "test",
        beforeStep: (_s, i) => {
          if (i === k) throw new Error("injected");
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepError);
      const se = err as StepError;
      expect(se.step).toBe(steps[k]?.name);
      expect(se.index).toBe(k);
      expect(se.undone).toBe(k);
      expect(se.rolledBack).toBe(true);
      expect((se.cause as Error).message).toBe("injected");
      const ran = steps.slice(0, k).map((s) => `run ${s.name}`);
      const undone = steps
        .slice(0, k)
        .reverse()
        .map((s) => `undo ${s.name}`);
      expect(log).toEqual([...ran, ...undone]);
    }
  });

  it("keeps rolling back past a failed undo and reports it", async () => {
    const { log, mk } = recorder();
    const err = (await runPlan([mk("a"), mk("b", "undo"), mk("c"), mk("d", "run")]).catch(
      (e: unknown) => e,
    )) as StepError;
    expect(err.step).toBe("d");
    expect(err.undoErrors.map((u) => u.step)).toEqual(["b"]);
    expect(err.rolledBack).toBe(false);
    expect(err.message).toContain("undo b broke");
    expect(log).toEqual(["run a", "run b", "run c", "undo c", "undo a"]);
  });

  it("undo of a completed plan reports every failed step and still tries the rest", async () => {
    const { log, mk } = recorder();
    const done = await runPlan([mk("a", "undo"), mk("b")]);
    await expect(done.undo()).rejects.toBeInstanceOf(UndoError);
    expect(log).toEqual(["run a", "run b", "undo b"]);
  });
});
