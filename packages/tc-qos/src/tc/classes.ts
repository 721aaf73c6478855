// tc.classes: add, replace, change, delete, list (`tc class ...`).
import type { LinkRef } from "@vmnet/netlink-native";
import { RTM_NEWTCLASS } from "@vmnet/netlink-native/codec";
import { type ClassSpec, decodeClass, type TcClass } from "../decode.js";
import type { Handle } from "../handle.js";
import {
  classDeleteRequest,
  classDumpRequest,
  classRequest,
  parseClassSpec,
  type TcOp,
} from "../requests.js";
import { ctxOf, type TcCore } from "./core.js";

export class Classes {
  constructor(private readonly tc: TcCore) {}

  private async modify(op: TcOp, link: LinkRef, spec: ClassSpec): Promise<void> {
    const parsed = parseClassSpec(spec);
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(classRequest(op, ifindex, parsed, this.tc.codec), ctxOf(`class ${op}`, link));
  }

  add(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  replace(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  change(link: LinkRef, spec: ClassSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  async delete(link: LinkRef, selector: { classid: Handle; parent?: Handle }): Promise<void> {
    const ifindex = await this.tc.ifindex(link);
    await this.tc.send(classDeleteRequest(ifindex, selector), ctxOf("class del", link));
  }

  /** Every class of a link (the kernel dumps classes per link). */
  async list(link: LinkRef): Promise<TcClass[]> {
    const ifindex = await this.tc.ifindex(link);
    const msgs = await this.tc.dump(classDumpRequest(ifindex), ctxOf("class list", link));
    return msgs.filter((m) => m.type === RTM_NEWTCLASS).map((m) => decodeClass(m, this.tc.codec));
  }
}
