// Small pieces the QoS plans share: opening a handle for one call, ignoring "already gone" on
// undo, and the match-all mirred redirect filter (Kata's wiring, and applyQos's ingress).
import { NetlinkError, type NetnsRef } from "@vmnet/netlink-native";
import type { Filter } from "../tc.js";
import { Tc } from "../tc.js";

/** Priority of the ingress filter that sends a link's incoming traffic to its ifb. */
export const QOS_INGRESS_PRIO = 10;
/** Priority of redirect()'s filters (Kata's tc-redirect wiring). */
export const REDIRECT_PRIO = 1;

/**
 * Runs `fn` on the caller's handle (as is: no extra promise per call when a thousand calls share
 * one), or on a handle opened for this call and closed after it.
 */
export function withTc<T>(
  options: { tc?: Tc | undefined; netns?: NetnsRef | undefined },
  fn: (tc: Tc) => Promise<T>,
): Promise<T> {
  if (options.tc) {
    try {
      return fn(options.tc);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return withOwnTc(options.netns, fn);
}

async function withOwnTc<T>(netns: NetnsRef | undefined, fn: (tc: Tc) => Promise<T>): Promise<T> {
  const tc = await Tc.open(netns === undefined ? {} : { netns });
  try {
    return await fn(tc);
  } finally {
    await tc.close();
  }
}

/** Resolves when `p` succeeds or fails only because the object is already gone. */
export async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === "ENOENT" || e.code === "EINVAL" || e.code === "ENODEV"))
      return;
    throw e;
  }
}

/** The ifindex a u32 match-all "mirred egress redirect" filter sends to, or undefined. */
export function isRedirectToAny(f: Filter): number | undefined {
  if (f.kind !== "u32" || !f.options?.keys || f.options.actions.length !== 1) return undefined;
  const a = f.options.actions[0];
  if (a && a.kind === "mirred" && "direction" in a && a.direction === "egress" && a.action === "redirect")
    return a.ifindex;
  return undefined;
}

/** The index of a redirect filter's mirred action (to re-create it exactly on undo). */
export function redirectActionIndex(f: Filter): number | undefined {
  if (f.kind !== "u32") return undefined;
  const a = f.options?.actions[0];
  return a && a.kind === "mirred" && "index" in a ? (a.index as number) : undefined;
}

export function redirectFilter(
  parent: string,
  prio: number,
  target: number,
  handle?: number,
  actionIndex?: number,
) {
  return {
    kind: "u32" as const,
    parent,
    protocol: "all" as const,
    prio,
    ...(handle !== undefined ? { handle } : {}),
    matchAll: true,
    actions: [
      {
        kind: "mirred" as const,
        direction: "egress" as const,
        action: "redirect" as const,
        dev: target,
        ...(actionIndex !== undefined ? { index: actionIndex } : {}),
      },
    ],
  };
}
