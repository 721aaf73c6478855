// Typed errors. Input problems name the field; filter problems carry libpcap's own message;
// system failures keep the errno code, number and system call, and say what was being opened.
import { LibpcapMissingError, PcapFilterError } from "@vmnet/netlink-native";

export { LibpcapMissingError };

/** Bad input to a public function: which field, and what is wrong with it. */
export class CaptureInputError extends Error {
  override readonly name = "CaptureInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** A filter expression libpcap could not compile; `reason` is libpcap's message, one line. */
export class CaptureFilterError extends PcapFilterError {
  override readonly name: string = "CaptureFilterError";
}

/** A capture the system refused or that failed while running (no such interface, EACCES, ENOSPC). */
export class CaptureError extends Error {
  override readonly name = "CaptureError";
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number | undefined,
    readonly syscall: string | undefined,
    readonly path: string | undefined,
  ) {
    super(message);
  }
}

const explanations: Record<string, string> = {
  ENODEV: "no such interface",
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted (capturing needs CAP_NET_RAW)",
  EEXIST: "the file exists (pass overwrite: true to replace it)",
  ENOSPC: "no space left on device",
  EOPNOTSUPP: "not supported",
  ENETDOWN: "the interface is down",
  ENXIO: "the interface went away (deleted while capturing)",
  ELOOP: "the path is a symbolic link (never followed)",
};

/** Turns an error from the addon into a typed one, saying what the capture was doing. */
export function captureErrorFrom(error: unknown, what: { iface: string; file?: string | undefined }): Error {
  if (error instanceof PcapFilterError) return new CaptureFilterError(error.expression, error.reason);
  if (
    error instanceof CaptureError ||
    error instanceof CaptureInputError ||
    error instanceof LibpcapMissingError
  )
    return error;
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code !== "string") return error as Error;
  const code = e.code;
  const why =
    e.syscall === "open" && code === "EINVAL"
      ? "not a regular file (only regular files are overwritten)"
      : (explanations[code] ?? e.message);
  let subject: string;
  if (e.syscall === "open" && what.file && e.path === what.file) subject = `capture file ${what.file}`;
  else if (["write", "close", "fchmod", "fstat", "ftruncate"].includes(e.syscall ?? ""))
    subject = `capture file ${what.file ?? e.path ?? ""}`.trim();
  else if (e.syscall === "open" || e.syscall === "setns") subject = `netns ${e.path ?? ""}`.trim();
  else subject = `capture on "${what.iface}"`;
  const err = new CaptureError(`${subject}: ${why} (${code})`, code, e.errno, e.syscall, e.path);
  if ("stats" in e) Object.assign(err, { stats: (e as { stats: unknown }).stats });
  return err;
}
