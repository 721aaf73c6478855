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
      // A message of ours (e.g. `.int("must be an integer")`) says it best; zod's own starts "Invalid input".
      if (!issue.message.startsWith("Invalid input")) return issue.message;
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
/**
 * For a value that matched none of a union's forms, the issue of the form it came closest to (the
 * one whose problem lies deepest), with its path made absolute.
 */
function closestUnionIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (!best || inner.path.length > best.path.length) best = inner;
    }
  }
  if (!best || best.path.length === 0) return issue;
  return closestUnionIssue({ ...best, path: [...issue.path, ...best.path] } as z.core.$ZodIssue);
}

export function describeZodError(error: z.ZodError, root: string): ZodProblem {
  const first = error.issues[0];
  if (!first) return { field: root, reason: "is invalid" };
  const issue = closestUnionIssue(first);
  const path = issue.path.map(String).join(".");
  const more = error.issues.length - 1;
  return {
    field: path === "" ? root : `${root}.${path}`,
    reason: `${reasonOf(issue)}${more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""})` : ""}`,
  };
}
