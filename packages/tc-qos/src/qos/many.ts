// applyQosMany: many links' QoS in one go, all or nothing. Every link's state is read by one
// qdisc dump (and names by one link dump), each spec is validated once however many links share
// it, and every link's steps are sent together (pipelined on one socket). If any link's plan
// fails, that link rolls itself back and every link that succeeded is undone too.
import type { LinkRef } from "@vmnet/netlink-native";
import { type CompletedPlan, runPlan, StepError } from "@vmnet/netlink-native/plan";
import { check } from "../validate.js";
import type { QosOptions } from "./apply.js";
import { withTc } from "./common.js";
import { planManyQos } from "./plan.js";
import { type QosParsed, type QosSpec, qosSchema } from "./schema.js";

export interface QosChange {
  link: LinkRef;
  /** The link's QoS; `null` removes it (as removeQos does). */
  qos: QosSpec | null;
}

/** Applies every change; on any failure none of them is left applied (StepError of the first). */
export async function applyQosMany(changes: readonly QosChange[], options: QosOptions = {}): Promise<void> {
  const parsedBySpec = new Map<QosSpec, QosParsed>();
  const parsed = changes.map((c, i) => {
    if (c.qos === null) return {} as QosParsed;
    let p = parsedBySpec.get(c.qos);
    if (!p) {
      p = check(qosSchema, c.qos, `changes.${i}.qos`);
      parsedBySpec.set(c.qos, p);
    }
    return p;
  });
  await withTc(options, async (tc) => {
    // One qdisc dump for every link, one (streamed) link dump for their names; each link's plan
    // runs as soon as its state is known, so its requests go out (pipelined on the socket) while
    // later links are still being read. Each link is still one plan that rolls back, and the
    // batch stays all or nothing: whatever failed (a read, a plan, a step), the links that
    // succeeded are undone below.
    const plans = planManyQos(
      tc,
      changes.map((c) => c.link),
      parsed,
      options,
    );
    const results = await Promise.allSettled(
      plans.map(async (planned, i) => {
        const steps = await planned;
        return runPlan(steps, {
          subject: `qos on ${String(changes[i]?.link)}`,
          ...(options.beforeStep ? { beforeStep: options.beforeStep } : {}),
        });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (!failed) return;
    // Undo the links that made it, so the batch is all or nothing.
    const done = results.filter((r): r is PromiseFulfilledResult<CompletedPlan> => r.status === "fulfilled");
    const undo = await Promise.allSettled(done.map((r) => r.value.undo()));
    const undoFailed = undo.filter((u): u is PromiseRejectedResult => u.status === "rejected");
    if (undoFailed.length === 0 || !(failed.reason instanceof StepError)) throw failed.reason;
    const e = failed.reason;
    throw new StepError(e.subject, e.step, e.index, e.cause, e.undone, [
      ...e.undoErrors,
      ...undoFailed.map((u) => ({ step: "undo another link", error: u.reason as Error })),
    ]);
  });
}
