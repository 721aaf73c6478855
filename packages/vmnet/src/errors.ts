// vmnet's errors: one base class, input errors that name the field, and the shared StepError
// (from @vmnet/netlink-native's plans) for multi-step work that failed and was rolled back.
export { StepError, UndoError, type UndoFailure } from "@vmnet/netlink-native/plan";

/** Base of every error vmnet's composition layer throws itself. */
export class VmnetError extends Error {
  override readonly name: string = "VmnetError";
}

/** Bad input to a public function: `field` names what was wrong, `reason` says why. */
export class VmnetInputError extends VmnetError {
  override readonly name: string = "VmnetInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
