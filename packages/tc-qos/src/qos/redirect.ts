// Kata Containers' tc-redirect wiring: two links joined without a bridge, each one's ingress
// redirected to the other's egress by a u32 match-all filter with a mirred action. planRedirect
// returns the steps (reads done up front); redirect() runs them.
import type { LinkRef } from "@vmnet/netlink-native";
import { runPlan, type Step, step } from "@vmnet/netlink-native/plan";
import { TcInputError } from "../errors.js";
import type { Tc } from "../tc.js";
import type { QosOptions } from "./apply.js";
import {
  ignoreMissing,
  isRedirectToAny,
  REDIRECT_PRIO,
  redirectActionIndex,
  redirectFilter,
  withTc,
} from "./common.js";
import { type Ingress, readIngress } from "./read.js";

export interface RedirectOptions extends Omit<QosOptions, "owner"> {
  /** Also redirect `to`'s ingress to `from` (default true: the two links act as one wire). */
  bothWays?: boolean;
}

function oneWay(tc: Tc, from: number, to: number, ingress: Ingress): Step[] {
  const parent = ingress.filterParent;
  const steps: Step[] = [];
  if (!ingress.qdisc) {
    steps.push(
      step(
        `add ingress qdisc on ${from}`,
        () => tc.qdiscs.add(from, { kind: "ingress" }),
        () => tc.qdiscs.delete(from, { kind: "ingress" }),
      ),
    );
  }
  const existing = ingress.filters.find((f) => f.prio === REDIRECT_PRIO && isRedirectToAny(f) !== undefined);
  if (existing) {
    const prevTarget = isRedirectToAny(existing) as number;
    steps.push(
      step(
        `redirect ${from} to ${to}`,
        () => tc.filters.replace(from, redirectFilter(parent, REDIRECT_PRIO, to, existing.handle)),
        () =>
          tc.filters.replace(
            from,
            redirectFilter(parent, REDIRECT_PRIO, prevTarget, existing.handle, redirectActionIndex(existing)),
          ),
      ),
    );
  } else {
    steps.push(
      step(
        `redirect ${from} to ${to}`,
        () => tc.filters.add(from, redirectFilter(parent, REDIRECT_PRIO, to)),
        () => ignoreMissing(tc.filters.delete(from, { parent, prio: REDIRECT_PRIO })),
      ),
    );
  }
  return steps;
}

/** The steps that wire `from` and `to` together (see redirect), after reading both links' ingress. */
export async function planRedirect(
  tc: Tc,
  from: LinkRef,
  to: LinkRef,
  options: { bothWays?: boolean } = {},
): Promise<Step[]> {
  const [a, b] = await Promise.all([tc.ifindex(from), tc.ifindex(to)]);
  if (a === b) throw new TcInputError("to", "must be another link than from");
  const both = options.bothWays !== false;
  const [ia, ib] = await Promise.all([
    tc.qdiscs.get(a, "ingress").then((q) => readIngress(tc, a, q)),
    both ? tc.qdiscs.get(b, "ingress").then((q) => readIngress(tc, b, q)) : undefined,
  ]);
  return [...oneWay(tc, a, b, ia), ...(ib ? oneWay(tc, b, a, ib) : [])];
}

/** The steps that undo redirect(): the redirect filters, and each ingress qdisc left without filters. */
export async function planRemoveRedirect(
  tc: Tc,
  from: LinkRef,
  to: LinkRef,
  options: { bothWays?: boolean } = {},
): Promise<Step[]> {
  const links = await Promise.all([
    tc.ifindex(from),
    ...(options.bothWays !== false ? [tc.ifindex(to)] : []),
  ]);
  const steps: Step[] = [];
  for (const ifindex of links) {
    const ingress = await readIngress(tc, ifindex, await tc.qdiscs.get(ifindex, "ingress"));
    if (!ingress.qdisc) continue;
    const ours = ingress.filters.filter((f) => f.prio === REDIRECT_PRIO && isRedirectToAny(f) !== undefined);
    if (ours.length === 0) continue;
    const parent = ingress.filterParent;
    const readd = async () => {
      for (const f of ours)
        await tc.filters.add(
          ifindex,
          redirectFilter(
            parent,
            REDIRECT_PRIO,
            isRedirectToAny(f) as number,
            f.handle,
            redirectActionIndex(f),
          ),
        );
    };
    const others = ingress.filters.filter((f) => f.prio !== REDIRECT_PRIO);
    if (others.length === 0 && ingress.qdisc.kind === "ingress")
      steps.push(
        step(
          `delete ingress qdisc on ${ifindex}`,
          () => tc.qdiscs.delete(ifindex, { kind: "ingress" }),
          async () => {
            await tc.qdiscs.add(ifindex, { kind: "ingress" });
            await readd();
          },
        ),
      );
    else
      steps.push(
        step(
          `delete redirect on ${ifindex}`,
          () => tc.filters.delete(ifindex, { parent, prio: REDIRECT_PRIO }),
          readd,
        ),
      );
  }
  return steps;
}

/**
 * Wires two links together without a bridge, as Kata's tc-redirect does for a VM's tap and its
 * pod's veth: an ingress qdisc on each, a u32 match-all filter (protocol all), action mirred
 * egress redirect to the other. Idempotent; on failure nothing is left half-wired (StepError).
 */
export async function redirect(from: LinkRef, to: LinkRef, options: RedirectOptions = {}): Promise<void> {
  await withTc(options, async (tc) => {
    const steps = await planRedirect(tc, from, to, options);
    const subject = `redirect ${String(from)} <-> ${String(to)}`;
    await runPlan(steps, options.beforeStep ? { subject, beforeStep: options.beforeStep } : { subject });
  });
}

/** Undoes redirect(): removes the redirect filters, and each ingress qdisc left without filters. */
export async function removeRedirect(
  from: LinkRef,
  to: LinkRef,
  options: RedirectOptions = {},
): Promise<void> {
  await withTc(options, async (tc) => {
    const steps = await planRemoveRedirect(tc, from, to, options);
    const subject = `redirect removal ${String(from)} <-> ${String(to)}`;
    await runPlan(steps, options.beforeStep ? { subject, beforeStep: options.beforeStep } : { subject });
  });
}
