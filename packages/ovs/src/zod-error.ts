// zod failures turned into one sentence naming the field. zod's own message lists every issue on
// several lines (and its default wording names types, not fields); callers get the first problem,
// where it is, and how many more there were. Pure: imported by input checks and by the OVSDB layer
// for replies that do not have the expected shape.
import type { z } from "zod";

/** The field (dotted path under `root`) and the reason of the first issue of a zod failure. */
export interface ZodProblem {
  readonly field: string;
  readonly reason: string;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function reasonOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      // zod does not keep the input unless asked; its message names what it received.
      const received =
        issue.input !== undefined ? describeValue(issue.input) : /received (\w+)/.exec(issue.message)?.[1];
      if (received === "undefined") return "is required";
      const article = /^[aeiou]/.test(issue.expected) ? "an" : "a";
      return `must be ${article} ${issue.expected}${received ? `, not ${received}` : ""}`;
    }
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "unrecognized_keys":
      return `has unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_union":
      return "matches none of the accepted forms";
    default: {
      // Messages we wrote ourselves ("must be a VLAN id from 1 to 4094") read well as they are;
      // zod's defaults start with a capital ("Too small: ...") and are kept, decapitalised.
      const line = issue.message.split("\n")[0] ?? "is invalid";
      return /^[A-Z][a-z]/.test(line) ? line.charAt(0).toLowerCase() + line.slice(1) : line;
    }
  }
}

/** Field and reason of the first issue; the reason notes how many other issues there were. */
export function describeZodError(error: z.ZodError, root: string): ZodProblem {
  const issue = error.issues[0];
  if (!issue) return { field: root, reason: "is invalid" };
  const path = issue.path.map(String).join(".");
  const more = error.issues.length - 1;
  return {
    field: path === "" ? root : `${root}.${path}`,
    reason: `${reasonOf(issue)}${more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""})` : ""}`,
  };
}
