// tc.filters: add, replace, change, delete, list (`tc filter ...`).
import type { LinkRef } from "@vmnet/netlink-native";
import { RTM_NEWTFILTER } from "@vmnet/netlink-native/codec";
import { decodeFilter, type Filter, type FilterSpec } from "../decode.js";
import { type Handle, parseFilterParent } from "../handle.js";
import {
  type FilterSelector,
  filterDeleteRequest,
  filterDumpRequest,
  filterRequest,
  parseFilterSpec,
  type TcOp,
} from "../requests.js";
import { ctxOf, type TcCore } from "./core.js";

export class Filters {
  constructor(private readonly tc: TcCore) {}

  private async modify(op: TcOp, link: LinkRef, spec: FilterSpec): Promise<void> {
    const parsed = parseFilterSpec(spec);
    const [ifindex, actions] = await Promise.all([
      this.tc.ifindex(link),
      this.tc.resolveActions(spec.actions),
    ]);
    await this.tc.send(
      filterRequest(op, ifindex, parsed, actions, this.tc.codec),
      ctxOf(`filter ${op}`, link),
    );
  }

  add(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  /** Adds, or replaces the filter with the same parent, prio, protocol and handle. */
  replace(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  change(link: LinkRef, spec: FilterSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  /** Deletes every filter under a parent, one priority's, or one filter (with kind and handle). */
  async delete(link: LinkRef, selector: FilterSelector): Promise<void> {
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(filterDeleteRequest(ifindex, selector), ctxOf("filter del", link));
  }

  /** The filters attached under a parent ("ffff:", "1:", "ingress", "egress"). */
  async list(link: LinkRef, parent: Handle): Promise<Filter[]> {
    const ifindex = await this.tc.ifindex(link);
    const msgs = await this.tc.dump(
      filterDumpRequest(ifindex, parseFilterParent(parent)),
      ctxOf("filter list", link),
    );
    return msgs.filter((m) => m.type === RTM_NEWTFILTER).map((m) => decodeFilter(m, this.tc.codec));
  }
}
