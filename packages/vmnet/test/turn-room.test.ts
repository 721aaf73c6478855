// turnRoom: plans that go on in the same event-loop turn share a budget. Chunks that would overrun
// it wait for later turns (oldest first), so twenty plans resuming together do not hold the loop
// for twenty chunks; a lone plan whose stages are short never waits.
import { describe, expect, test } from "vitest";
import { runStages } from "../src/plan/stages.js";
import { step } from "../src/plan/step.js";
import { turnRoom } from "../src/plan/turn-room.js";

/** Holds the thread for `ms`, as a plan's synchronous JavaScript does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Counts event-loop turns (one setImmediate per turn) until stopped. */
function turnCounter() {
  let turn = 0;
  let running = true;
  const next = () => {
    turn++;
    if (running) setImmediate(next);
  };
  setImmediate(next);
  return {
    now: () => turn,
    stop: () => {
      running = false;
    },
  };
}

describe("turnRoom", () => {
  test("20 chunks of 1 ms asked for in one turn run at most 3 to a turn, in order", async () => {
    const turns = turnCounter();
    const ran: { id: number; turn: number }[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, id) => {
        await turnRoom();
        ran.push({ id, turn: turns.now() });
        busy(1);
      }),
    );
    turns.stop();
    expect(ran.map((r) => r.id)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const perTurn = new Map<number, number>();
    for (const r of ran) perTurn.set(r.turn, (perTurn.get(r.turn) ?? 0) + 1);
    // 1.5 ms of budget: two 1 ms chunks fit (the second starts at 1 ms), the third waits.
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(3);
    expect(perTurn.size).toBeGreaterThanOrEqual(7);
  });

  test("a lone plan's stages never wait for a later turn", async () => {
    await new Promise((r) => setImmediate(r)); // a fresh turn
    const turns = turnCounter();
    const seen: number[] = [];
    const stages = Array.from({ length: 5 }, (_, i) => [
      step(`s${i}`, async () => {
        seen.push(turns.now());
        busy(0.02); // far below the budget, so even a descheduled run stays within it
      }),
    ]);
    await runStages(stages);
    turns.stop();
    expect(seen).toEqual([0, 0, 0, 0, 0]);
  });

  test("plans run by runStages spread their stages over turns", async () => {
    await new Promise((r) => setImmediate(r));
    const turns = turnCounter();
    const seen: number[] = [];
    const plan = () =>
      runStages(
        Array.from({ length: 3 }, (_, i) => [
          step(`s${i}`, async () => {
            seen.push(turns.now());
            busy(1);
          }),
        ]),
      );
    await Promise.all(Array.from({ length: 8 }, plan));
    turns.stop();
    const perTurn = new Map<number, number>();
    for (const t of seen) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect(seen).toHaveLength(24);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(3);
  });
});
