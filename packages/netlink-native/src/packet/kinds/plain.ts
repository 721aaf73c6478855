import { defineKind } from "./kind.js";

// Kinds with no settings of their own (nothing in IFLA_INFO_DATA).
export const ifbKind = defineKind({ kind: "ifb", schema: {}, decode: () => ({}) });
export const dummyKind = defineKind({ kind: "dummy", schema: {}, decode: () => ({}) });
