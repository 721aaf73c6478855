import { constants } from "node:os";
import { NetlinkNativeError } from "./codec/base-error.js";

export { NetlinkNativeError };

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name] as [number, string]),
);

/** The errno name for a number (`17` -> `EEXIST`). */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

const descriptions: Record<string, string> = {
  EEXIST: "File exists",
  ENOENT: "No such file or directory",
  ENODEV: "No such device",
  EINVAL: "Invalid argument",
  EPERM: "Operation not permitted",
  EOPNOTSUPP: "Operation not supported",
  EBUSY: "Device or resource busy",
  ENOBUFS: "No buffer space available",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENETUNREACH: "Network is unreachable",
  ESRCH: "No such process",
  EAFNOSUPPORT: "Address family not supported by protocol",
  ERANGE: "Numerical result out of range",
  ENOTSUP: "Operation not supported",
  ETIMEDOUT: "Connection timed out",
  EBADF: "Bad file descriptor",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  EINTR: "Interrupted system call",
};

/** What a request was about, for error messages: `link add "tap0"`. */
export interface RequestContext {
  /** Object kind and verb, e.g. "link add", "addr del", "route replace". */
  op: string;
  /** The object it named, e.g. the interface name or a CIDR. */
  object?: string;
}

/**
 * A request the kernel refused. Carries the errno name and number, the kernel's extended-ack
 * explanation when it gave one, and what was asked: `link add "tap0": EEXIST (File exists)`.
 */
export class NetlinkError extends NetlinkNativeError {
  override readonly name = "NetlinkError";
  readonly code: string;
  constructor(
    readonly errno: number,
    readonly request: RequestContext,
    readonly extack?: string,
    /** Byte offset of the attribute the kernel rejected, when it said. */
    readonly extackOffset?: number,
  ) {
    const code = errnoName(errno);
    const what = request.object === undefined ? request.op : `${request.op} "${request.object}"`;
    const why = descriptions[code] ?? code;
    super(`${what}: ${code} (${why})${extack ? `: ${extack}` : ""}`);
    this.code = code;
  }
}

/** A dump the kernel kept interrupting (NLM_F_DUMP_INTR) after every retry; carries what came. */
export class NetlinkDumpInterruptedError extends NetlinkNativeError {
  override readonly name = "NetlinkDumpInterruptedError";
  constructor(
    readonly request: RequestContext,
    readonly attempts: number,
    readonly partial: unknown[],
  ) {
    super(`${request.op}: the dump was interrupted by concurrent changes ${attempts} times in a row`);
  }
}

/** A request with no answer within its deadline. */
export class NetlinkTimeoutError extends NetlinkNativeError {
  override readonly name = "NetlinkTimeoutError";
  constructor(
    readonly request: RequestContext,
    readonly ms: number,
  ) {
    super(
      `${request.op}${request.object ? ` "${request.object}"` : ""}: no answer from the kernel in ${ms} ms`,
    );
  }
}

/** Bad input to a public function: names the field and what is wrong with it. */
export class NetlinkInputError extends NetlinkNativeError {
  override readonly name = "NetlinkInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * A system call the addon made was refused (a TAP ioctl, a socket, a close): errno name and
 * number, the call, and the path or device it was about.
 */
export class SyscallError extends NetlinkNativeError {
  override readonly name: string = "SyscallError";
  constructor(
    readonly code: string,
    readonly errno: number,
    readonly syscall: string,
    /** The path or interface name involved, when there was one. */
    readonly path: string | undefined,
    /** What the caller was doing, e.g. `open tap`. */
    readonly op: string,
  ) {
    super(`${op}: ${syscall} ${code} (${descriptions[code] ?? code})${path ? `: ${path}` : ""}`);
  }
}

/** A network namespace could not be opened, entered, created or deleted. */
export class NetnsError extends SyscallError {
  override readonly name = "NetnsError";
}

/**
 * Turns an error from the addon (Node's system-error shape: code, errno, syscall, path) into a
 * SyscallError, or a NetnsError when it was about the namespace `netnsPath`. Anything else is
 * returned as it was.
 */
export function fromNative(error: unknown, op: string, netnsPath?: string): unknown {
  const e = error as { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown };
  if (!(error instanceof Error) || typeof e.code !== "string" || typeof e.syscall !== "string") return error;
  const errno = typeof e.errno === "number" ? Math.abs(e.errno) : 0;
  const path = typeof e.path === "string" ? e.path : undefined;
  const aboutNetns =
    e.syscall === "setns" || e.syscall === "unshare" || (netnsPath !== undefined && path === netnsPath);
  const Cls = aboutNetns ? NetnsError : SyscallError;
  const out = new Cls(e.code, errno, e.syscall, path, op);
  out.cause = error;
  return out;
}
