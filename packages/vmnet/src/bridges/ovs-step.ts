// One OVSDB transaction = one plan step whose undo is the inverse transaction (@vmnet/ovs builds
// both from the rows it read). The change is built when the step runs, so it sees the switch as
// it is then, and the inverse restores exactly that.
import type { OvsChange } from "@vmnet/ovs";
import { step } from "../plan/step.js";
import type { BridgesContext } from "./context.js";

export function ovsStep<T>(
  ctx: BridgesContext,
  name: string,
  build: () => Promise<OvsChange<T>>,
  onDone?: (result: T) => void,
  options: { wait?: boolean } = {},
) {
  let applied: OvsChange<T> | undefined;
  return step(
    name,
    async () => {
      const change = await build();
      if (change.operations.length > 0) await ctx.vswitch.transact(change.operations, options);
      applied = change;
      onDone?.(change.result);
    },
    async () => {
      if (applied && applied.inverse.length > 0) await ctx.vswitch.transact(applied.inverse);
      applied = undefined;
    },
  );
}
