// tc.actions: standalone (shared) actions (`tc actions ...`).
import { parseAttrs, RTM_GETACTION, RTM_NEWACTION } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import { type ActionInfo, type ActionSpec, actionSchema, readActionList } from "../actions/action.js";
import * as C from "../constants.js";
import { actionDeleteRequest, actionDumpRequest, actionRequest, type TcOp } from "../requests.js";
import { check } from "../validate.js";
import type { TcCore } from "./core.js";

const actionList = z.array(actionSchema).min(1, "give at least one action");

export class Actions {
  constructor(private readonly tc: TcCore) {}

  private async modify(op: TcOp, input: ActionSpec | ActionSpec[]): Promise<void> {
    const list = check(actionList, Array.isArray(input) ? input : [input], "actions");
    const resolved = await this.tc.resolveActions(list as ActionSpec[]);
    await this.tc.send(actionRequest(op, resolved), {
      op: `action ${op}`,
      object: list.map((a) => a.kind).join(","),
    });
  }

  /** Adds standalone (shared) actions, which filters can then refer to by index. */
  add(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("add", actions);
  }

  replace(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("replace", actions);
  }

  change(actions: ActionSpec | ActionSpec[]): Promise<void> {
    return this.modify("change", actions);
  }

  async delete(kind: string, index: number): Promise<void> {
    await this.tc.send(actionDeleteRequest(kind, index), { op: "action del", object: `${kind} ${index}` });
  }

  /** Every standalone action of a kind. */
  async list(kind: string): Promise<ActionInfo[]> {
    const msgs = await this.tc.dump(actionDumpRequest(kind), { op: "action list", object: kind });
    const out: ActionInfo[] = [];
    for (const m of msgs) {
      // Dump answers carry the request's type (RTM_GETACTION); notifications RTM_NEWACTION.
      if (m.type !== RTM_GETACTION && m.type !== RTM_NEWACTION) continue;
      for (const a of parseAttrs(m.body.subarray(4)))
        if (a.type === C.TCA_ACT_TAB) out.push(...readActionList(a.data));
    }
    return out;
  }
}
