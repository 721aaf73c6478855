// tc.qdiscs: add, replace, change, delete, get, list (`tc qdisc ...`).
import { type LinkRef, NetlinkError } from "@vmnet/netlink-native";
import { RTM_NEWQDISC } from "@vmnet/netlink-native/codec";
import * as C from "../constants.js";
import { decodeQdisc, type Qdisc, type QdiscSpec } from "../decode.js";
import { type Handle, parseHandle } from "../handle.js";
import {
  parseQdiscSpec,
  type QdiscSelector,
  qdiscDeleteRequest,
  qdiscDumpRequest,
  qdiscGetRequest,
  qdiscRequest,
  type TcOp,
} from "../requests.js";
import { ctxOf, type TcCore } from "./core.js";

const nothing = () => undefined;

export class Qdiscs {
  constructor(private readonly tc: TcCore) {}

  private modify(op: TcOp, link: LinkRef, spec: QdiscSpec): Promise<void> {
    let parsed: ReturnType<typeof parseQdiscSpec>;
    try {
      parsed = parseQdiscSpec(spec);
    } catch (e) {
      return Promise.reject(e);
    }
    // A promise chain, not an async function: a thousand calls started together (one per link)
    // each cost their name's promise and their request's, little else.
    return this.tc
      .ifindex(link)
      .then((ifindex) =>
        this.tc.send(
          qdiscRequest(op, ifindex, parsed, this.tc.codec),
          ctxOf(`qdisc ${op} ${parsed.kind.kind}`, link),
        ),
      )
      .then(nothing);
  }

  /** Adds a qdisc; fails with EEXIST if its place is taken (`tc qdisc add`). */
  add(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("add", link, spec);
  }

  /** Adds or replaces the qdisc at that place (`tc qdisc replace`). */
  replace(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("replace", link, spec);
  }

  /** Changes an existing qdisc's options in place (`tc qdisc change`). */
  change(link: LinkRef, spec: QdiscSpec): Promise<void> {
    return this.modify("change", link, spec);
  }

  /** Deletes a qdisc: the root by default, `{ kind: "ingress" }`, or `{ parent, handle }`. */
  delete(link: LinkRef, selector: QdiscSelector = {}): Promise<void> {
    return this.tc
      .ifindex(link)
      .then((ifindex) => this.tc.send(qdiscDeleteRequest(ifindex, selector), ctxOf("qdisc del", link)))
      .then(nothing);
  }

  /** The qdisc at a place ("root", "ingress", "1:1"), or undefined when there is none. */
  async get(link: LinkRef, parent: Handle = "root"): Promise<Qdisc | undefined> {
    const ifindex = await this.tc.ifindex(link);
    const p = parent === "ingress" ? C.TC_H_INGRESS : parseHandle(parent, "parent");
    try {
      const msgs = await this.tc.send(qdiscGetRequest(ifindex, p), ctxOf("qdisc get", link));
      const m = msgs.find((x) => x.type === RTM_NEWQDISC);
      return m ? decodeQdisc(m, this.tc.codec) : undefined;
    } catch (e) {
      // No qdisc at that place: ENOENT (nothing there) or EINVAL (no such parent class).
      if (e instanceof NetlinkError && (e.code === "ENOENT" || e.code === "EINVAL")) return undefined;
      throw e;
    }
  }

  /** Every qdisc of a link (or of the namespace), root first. */
  async list(link?: LinkRef): Promise<Qdisc[]> {
    const ifindex = link === undefined ? 0 : await this.tc.ifindex(link);
    const msgs = await this.tc.dump(qdiscDumpRequest(ifindex), {
      op: "qdisc list",
      ...(link !== undefined ? { object: String(link) } : {}),
    });
    return msgs
      .filter((m) => m.type === RTM_NEWQDISC)
      .map((m) => decodeQdisc(m, this.tc.codec))
      .filter((q) => ifindex === 0 || q.ifindex === ifindex);
  }
}
