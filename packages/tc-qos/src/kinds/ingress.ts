// ingress: the classless hook on a link's receive path that filters (u32 + mirred, police) attach
// to. It has no options and one fixed place: handle ffff:, parent TC_H_INGRESS.
import { z } from "zod";
import * as C from "../constants.js";
import { defineQdiscKind } from "./kind.js";

export const ingress = defineQdiscKind({
  kind: "ingress",
  schema: z.object({}).strict(),
  encode: () => {},
  decode: () => ({}),
  fixedPlace: { handle: 0xffff0000, parent: C.TC_H_INGRESS },
});
