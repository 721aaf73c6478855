// The unit of every multi-step change in vmnet: one atomic action (one netlink request, one OVSDB
// transaction, one tc change) and the action that puts back exactly what it changed.

/** One atomic change and its inverse. `undo` is absent only for steps that change nothing. */
export interface Step {
  /** What the step does, as a user would say it: `add tap0`, `move 10.1.1.2/24 to br0`. */
  readonly name: string;
  run(): Promise<void>;
  undo?(): Promise<void>;
}

/** A step built from two functions; the `undo` may be left out for read-only steps. */
export function step(name: string, run: () => Promise<void>, undo?: () => Promise<void>): Step {
  return undo ? { name, run, undo } : { name, run };
}
