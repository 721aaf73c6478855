// How many container-side networks are set up, recovered or torn down at once in this process.
// Each one is a few milliseconds of JavaScript between kernel round trips; a hundred started
// together answer their netlink dumps in the same loop turns and run those milliseconds back to
// back, holding the event loop for over 100 ms. A few at a time keep the loop responsive, and the
// kernel still overlaps their round trips. Later callers wait their turn in order. Measured with
// 100 pods on a loaded 2-core machine: the longest block while setting up fell from 155-198 ms to
// 18-86 ms; the 100 setups took 1.3-2.0 s instead of 0.9-1.1 s. Four rather than eight: on the
// quiet 2-core machine (100 pods set up and torn down, five runs each) the longest block was
// 9.5-21.7 ms (median 11.5) instead of 13.0-17.2 (median 14.7), and the 100 setups took as long
// (0.53-0.74 s): the kernel serialises most of their work anyway (one lock for links), so more
// setups at once only queue more answers for the same turns.
import { turnRoom } from "../plan/turn-room.js";

const AT_ONCE = 4;

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` when fewer than AT_ONCE others are running; FIFO. */
export async function paced<T>(work: () => Promise<T>): Promise<T> {
  if (running >= AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    // The first chunk (input checks, socket opens) shares the turn with the others (turn-room.ts):
    // eight admitted together would otherwise start in one turn.
    await turnRoom();
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
