// Plans: the rollback vocabulary every vmnet layer shares. Pure TypeScript; importing this subpath
// never loads the addon.
export { type CompletedPlan, type PlanOptions, runPlan, UndoError, undoSteps } from "./run.js";
export { type Step, step } from "./step.js";
export { StepError, type UndoFailure } from "./step-error.js";
