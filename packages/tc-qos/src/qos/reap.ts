// reapQosLeftovers: what a crashed process's applyQos left behind. An ifb is a leftover when its
// mark names a process that is gone (or, unmarked, when its provisional name does: see ifb.ts);
// the filters that redirect a link's ingress to such an ifb go first (a mirred to a deleted link
// would drop that link's traffic), then the ifb. Unmarked links and other filters are never touched.
import type { NetnsRef } from "@vmnet/netlink-native";
import { RTM_NEWQDISC } from "@vmnet/netlink-native/codec";
import { qdiscDumpRequest } from "../requests.js";
import { decodeQdisc, type Tc } from "../tc.js";
import { ignoreMissing, isRedirectToAny, withTc } from "./common.js";
import { isLeftover } from "./ifb.js";

export interface ReapOptions {
  netns?: NetnsRef;
  tc?: Tc;
  /** Reap only marks with this owner (default: any owner's). */
  owner?: string;
}

export interface ReapReport {
  /** Names of the ifb links deleted. */
  ifbs: string[];
  /** The filters deleted, as `ifindex parent prio`. */
  filters: string[];
}

/** Removes the ifbs (and the redirects to them) that crashed processes' applyQos calls left. */
export async function reapQosLeftovers(options: ReapOptions = {}): Promise<ReapReport> {
  return withTc(options, async (tc) => {
    const rtnl = await tc.rtnl();
    const links = await rtnl.links.list();
    const dead = links.filter((l) => isLeftover(l, options.owner));
    const report: ReapReport = { ifbs: [], filters: [] };
    if (dead.length === 0) return report;
    const deadIndex = new Set(dead.map((l) => l.index));
    const qdiscs = (await tc.dump(qdiscDumpRequest(), { op: "qdisc list" }))
      .filter((m) => m.type === RTM_NEWQDISC)
      .map((m) => decodeQdisc(m, tc.codec, false))
      .filter((q) => q.kind === "ingress" || q.kind === "clsact");
    for (const q of qdiscs) {
      if (deadIndex.has(q.ifindex)) continue;
      const parent = q.kind === "clsact" ? "ingress" : "ffff:";
      const filters = await tc.filters.list(q.ifindex, parent);
      const prios = new Set<number>();
      for (const f of filters) {
        const target = isRedirectToAny(f);
        if (target !== undefined && deadIndex.has(target)) prios.add(f.prio);
      }
      for (const prio of prios) {
        // A priority holds only one filter kind's nodes; ours is the match-all redirect alone.
        const all = filters.filter((f) => f.prio === prio && f.kind === "u32" && f.options?.keys);
        if (all.some((f) => !deadIndex.has(isRedirectToAny(f) ?? -1))) continue;
        await ignoreMissing(tc.filters.delete(q.ifindex, { parent, prio }));
        report.filters.push(`${q.ifindex} ${parent} ${prio}`);
      }
    }
    for (const l of dead) {
      if (await rtnl.links.deleteIfExists(l.index)) report.ifbs.push(l.name);
    }
    return report;
  });
}
