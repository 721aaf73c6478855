// Every error this package throws is one of these classes, so callers can branch on the kind
// (bad input, missing program, switch state, OVSDB refusal, dead connection) without parsing text.
import type { z } from "zod";
import { describeZodError } from "./zod-error.js";

/** Base class of every @vmnet/ovs error. */
export class OvsError extends Error {
  override name = "OvsError";
}

/** Bad input from the caller: one sentence naming the field. Nothing was sent to the switch. */
export class OvsInputError extends OvsError {
  override name = "OvsInputError";
  constructor(
    /** Dotted path of the offending field, e.g. `ports.3.tag`. */
    readonly field: string,
    /** What is wrong with it, e.g. "must be a VLAN id from 1 to 4094". */
    readonly reason: string,
  ) {
    super(`${field} is invalid: ${reason}`);
  }
}

/** A program this package runs is not installed; the message names the Debian package. */
export class MissingProgramError extends OvsError {
  override name = "MissingProgramError";
  constructor(
    readonly program: string,
    readonly debianPackage: string,
  ) {
    super(`${program} is not installed: apt-get install ${debianPackage}`);
  }
}

/** A named switch object (bridge, port, mirror...) does not exist. */
export class OvsNotFoundError extends OvsError {
  override name = "OvsNotFoundError";
  constructor(
    readonly kind: string,
    readonly objectName: string,
  ) {
    super(`${kind} "${objectName}" does not exist`);
  }
}

/** A named switch object already exists (and `mayExist` was not given, or it differs). */
export class OvsAlreadyExistsError extends OvsError {
  override name = "OvsAlreadyExistsError";
  constructor(
    readonly kind: string,
    readonly objectName: string,
    detail = "",
  ) {
    super(`${kind} "${objectName}" already exists${detail ? `: ${detail}` : ""}`);
  }
}

/** A helper program (ovs-ofctl, ovs-appctl, ovsdb-tool, a daemon) failed. */
export class OvsCommandError extends OvsError {
  override name = "OvsCommandError";
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    const why = stderr.trim().split("\n").pop() ?? "";
    super(`${command} ${args.join(" ")} failed (exit ${exitCode ?? "?"})${why ? `: ${why}` : ""}`);
  }
}

/** Waiting for something (ovs-vswitchd applying a change, a daemon exiting) took too long. */
export class OvsTimeoutError extends OvsError {
  override name = "OvsTimeoutError";
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/**
 * Parses `input` with `schema`; on failure throws an OvsInputError whose message is one sentence
 * naming the first bad field (zod's own message lists every issue over several lines).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const { field, reason } = describeZodError(result.error, what);
  throw new OvsInputError(field, reason);
}
