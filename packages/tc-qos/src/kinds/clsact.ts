// clsact: like ingress, but with two filter hooks, "ingress" (ffff:fff2) and "egress" (ffff:fff3),
// so filters can also act on what a link sends. No options; same fixed place as ingress.
import { z } from "zod";
import * as C from "../constants.js";
import { defineQdiscKind } from "./kind.js";

export const clsact = defineQdiscKind({
  kind: "clsact",
  schema: z.object({}).strict(),
  encode: () => {},
  decode: () => ({}),
  fixedPlace: { handle: 0xffff0000, parent: C.TC_H_CLSACT },
});
