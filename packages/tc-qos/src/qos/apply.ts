// applyQos / removeQos: thin wrappers that plan a link's change and run the plan. A failure
// rolls back every completed step and throws StepError (from @vmnet/netlink-native/plan).
import type { LinkRef, NetnsRef } from "@vmnet/netlink-native";
import { type PlanOptions, runPlan, type Step, StepError } from "@vmnet/netlink-native/plan";
import type { Tc } from "../tc.js";
import { check } from "../validate.js";
import { withTc } from "./common.js";
import { planParsedQos, planRemoveQos, type QosPlanOptions } from "./plan.js";
import { type QosParsed, type QosSpec, qosSchema } from "./schema.js";

export interface QosOptions extends QosPlanOptions {
  /** The namespace the link is in. */
  netns?: NetnsRef;
  /** An open handle to use (its namespace wins); saves opening a socket per call. */
  tc?: Tc;
  /** Called before each step (tests throw here to inject a fault at any step). */
  beforeStep?: PlanOptions["beforeStep"];
}

function planOptions(subject: string, o: QosOptions): PlanOptions {
  return o.beforeStep ? { subject, beforeStep: o.beforeStep } : { subject };
}

const DONE = Promise.resolve();
const nothing = () => undefined;

/**
 * runPlan, without its bookkeeping for the common plans of none or one step and no fault to
 * inject (a rate set, changed or removed): the same outcome and the same StepError. The subject
 * is only spelled out when there is an error to name it in.
 */
function run(steps: readonly Step[], subject: () => string, o: QosOptions): Promise<void> {
  if (o.beforeStep || steps.length > 1) return runPlan(steps, planOptions(subject(), o)).then(nothing);
  const only = steps[0];
  if (!only) return DONE;
  let running: Promise<void>;
  try {
    running = only.run();
  } catch (e) {
    running = Promise.reject(e);
  }
  return running.then(nothing, (e: unknown) => {
    throw new StepError(subject(), only.name, 0, e, 0, []);
  });
}

/**
 * Sets a link's QoS: netem for loss/delay/duplicate/reorder/corrupt/slot, tbf for rate (under
 * the netem when both are asked for), an ifb + tbf for `ingress`. Whatever the link had before is
 * replaced; fields left out are removed. On failure the link keeps its previous QoS (its whole
 * tree, classes and filters included) and StepError says which step failed.
 */
export function applyQos(link: LinkRef, spec: QosSpec, options: QosOptions = {}): Promise<void> {
  let parsed: QosParsed;
  try {
    parsed = check(qosSchema, spec, "qos");
  } catch (e) {
    return Promise.reject(e);
  }
  // One promise chain per call (read, plan, the step): a thousand calls started together stay
  // a few promises each, their reads shared (batch-read.ts).
  return withTc(options, (tc) =>
    planParsedQos(tc, link, parsed, options).then((steps) =>
      run(steps, () => `qos on ${String(link)}`, options),
    ),
  );
}

/** Removes a link's QoS: its root qdisc, and the ingress redirect and ifb applyQos made. */
export function removeQos(link: LinkRef, options: QosOptions = {}): Promise<void> {
  return withTc(options, (tc) =>
    planRemoveQos(tc, link, options).then((steps) =>
      run(steps, () => `qos removal on ${String(link)}`, options),
    ),
  );
}
