// Kata Containers' tc-redirect wiring: two links joined without a bridge, each one's ingress
// redirected to the other's egress by a u32 match-all filter with a mirred action.
import type { LinkRef } from "@vmnet/netlink-native";
import { TcInputError } from "./errors.js";
import {
  ignoreMissing,
  isRedirectToAny,
  type QosOptions,
  REDIRECT_PRIO,
  readIngress,
  redirectFilter,
  withTc,
} from "./qos.js";
import { runSteps, type Step } from "./steps.js";
import type { Tc } from "./tc.js";

export interface RedirectOptions extends QosOptions {
  /** Also redirect `to`'s ingress to `from` (default true: the two links act as one wire). */
  bothWays?: boolean;
}

async function planRedirect(tc: Tc, from: number, to: number): Promise<Step[]> {
  const ingress = await readIngress(tc, from, await tc.qdiscs.get(from, "ingress"));
  const parent = ingress.filterParent;
  const steps: Step[] = [];
  if (!ingress.qdisc) {
    steps.push({
      name: `add ingress qdisc on ${from}`,
      run: () => tc.qdiscs.add(from, { kind: "ingress" }),
      undo: () => tc.qdiscs.delete(from, { kind: "ingress" }),
    });
  }
  const existing = ingress.filters.find((f) => f.prio === REDIRECT_PRIO && isRedirectToAny(f) !== undefined);
  if (existing) {
    const prevTarget = isRedirectToAny(existing) as number;
    steps.push({
      name: `redirect ${from} to ${to}`,
      run: () => tc.filters.replace(from, redirectFilter(parent, REDIRECT_PRIO, to, existing.handle)),
      undo: () =>
        tc.filters.replace(from, redirectFilter(parent, REDIRECT_PRIO, prevTarget, existing.handle)),
    });
  } else {
    steps.push({
      name: `redirect ${from} to ${to}`,
      run: () => tc.filters.add(from, redirectFilter(parent, REDIRECT_PRIO, to)),
      undo: () => ignoreMissing(tc.filters.delete(from, { parent, prio: REDIRECT_PRIO })),
    });
  }
  return steps;
}

/**
 * Wires two links together without a bridge, as Kata's tc-redirect does for a VM's tap and its
 * pod's veth: an ingress qdisc on each, a u32 match-all filter (protocol all), action mirred
 * egress redirect to the other. Idempotent; on failure nothing is left half-wired.
 */
export async function redirect(from: LinkRef, to: LinkRef, options: RedirectOptions = {}): Promise<void> {
  await withTc(options, async (tc) => {
    const [a, b] = await Promise.all([tc.ifindex(from), tc.ifindex(to)]);
    if (a === b) throw new TcInputError("to", "must be another link than from");
    const steps = await planRedirect(tc, a, b);
    if (options.bothWays !== false) steps.push(...(await planRedirect(tc, b, a)));
    await runSteps(`${String(from)} <-> ${String(to)}`, steps);
  });
}

/** Undoes redirect(): removes the redirect filters, and each ingress qdisc left without filters. */
export async function removeRedirect(
  from: LinkRef,
  to: LinkRef,
  options: RedirectOptions = {},
): Promise<void> {
  await withTc(options, async (tc) => {
    const links = await Promise.all([
      tc.ifindex(from),
      ...(options.bothWays !== false ? [tc.ifindex(to)] : []),
    ]);
    for (const ifindex of links) {
      const ingress = await readIngress(tc, ifindex, await tc.qdiscs.get(ifindex, "ingress"));
      if (!ingress.qdisc) continue;
      const ours = ingress.filters.filter(
        (f) => f.prio === REDIRECT_PRIO && isRedirectToAny(f) !== undefined,
      );
      if (ours.length === 0) continue;
      const others = ingress.filters.filter((f) => f.prio !== REDIRECT_PRIO);
      if (others.length === 0 && ingress.qdisc.kind === "ingress")
        await tc.qdiscs.delete(ifindex, { kind: "ingress" });
      else await tc.filters.delete(ifindex, { parent: ingress.filterParent, prio: REDIRECT_PRIO });
    }
  });
}
