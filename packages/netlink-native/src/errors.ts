import { constants } from "node:os";

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
export class NetlinkError extends Error {
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
export class NetlinkDumpInterruptedError extends Error {
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
export class NetlinkTimeoutError extends Error {
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
export class NetlinkInputError extends Error {
  override readonly name = "NetlinkInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
