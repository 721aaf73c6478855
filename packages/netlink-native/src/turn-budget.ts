// How much synchronous work this package does in one event-loop turn before it yields.
//
// The target is an event-loop delay p99 under 5 ms while a thousand operations run. A turn that
// admits callers or dispatches the kernel's answers stops once this much time has passed (checked
// between callers / small slices of answers, after their continuations ran), so with one caller's
// or slice's overshoot and a young-generation GC pause a turn stays well below the target.
export const TURN_BUDGET_MS = 1.5;
