// One error type for everything this package rejects: a document that does not validate, a
// conversion the target version cannot express, a result that cannot be fixed from the links.
// The message is always one line, "path: reason", so it can go straight into a log or a CNI
// error result's `msg`.

import type { core } from "zod";
import { quote } from "./ip.js";

export type PathSegment = string | number;

/** Formats a path the way users write it in JavaScript: `ips[1].address`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

export class CniResultError extends Error {
  /** Where in the document the problem is (`ips[1].address`); "" for the document itself. */
  readonly path: string;
  /** What is wrong there, without the path (`not a CIDR: "10.0.0.1"`). */
  readonly reason: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(path === "" ? reason : `${path}: ${reason}`, options);
    this.name = "CniResultError";
    this.path = path;
    this.reason = reason;
  }

  /** The same error, with its path placed under `prefix` (a field of an enclosing document). */
  within(prefix: string): CniResultError {
    const path =
      this.path === "" ? prefix : this.path.startsWith("[") ? prefix + this.path : `${prefix}.${this.path}`;
    return new CniResultError(path, this.reason, { cause: this.cause });
  }
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return quote(value);
  if (typeof value === "object") return "an object";
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  record: "an object",
};

/** Turns zod's first issue into the reason of a one-line error (never zod's own wording). */
function reasonOf(issue: core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "missing";
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `must have at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}, got ${String(issue.input)}`;
    case "too_big":
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}, got ${String(issue.input)}`;
    case "invalid_value":
      if (issue.input === undefined) return "missing";
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${JSON.stringify(issue.input)}`;
    case "invalid_format":
      return `does not match the expected format (${issue.format})`;
    case "custom":
      return issue.message;
    default:
      return issue.message;
  }
}

/** The first issue zod found, as a CniResultError. */
export function errorFromIssues(issues: readonly core.$ZodIssue[]): CniResultError {
  const issue = issues[0];
  if (!issue) return new CniResultError("", "invalid document");
  return new CniResultError(formatPath(issue.path as PathSegment[]), reasonOf(issue));
}
