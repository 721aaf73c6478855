// Steps and plans come from the lowest layer so every package shares one vocabulary (and one
// StepError); the composition layer adds what only it needs: the journal and the owner marks.
export {
  type CompletedPlan,
  type PlanOptions,
  runPlan,
  type Step,
  step,
  undoSteps,
} from "@vmnet/netlink-native/plan";
