// Classic BPF programs as data: the kernel's struct sock_filter (code, jt, jf, k), and the text
// form `tcpdump -ddd` prints (a count, then one "code jt jf k" line per instruction).
import { NetlinkInputError } from "../errors.js";
import { captureAddon } from "./addon.js";

/** Largest snap length (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;

export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Link types a capture can have, with their file (LINKTYPE_*) and libpcap (DLT_*) numbers. */
export const LINK_TYPES = {
  ethernet: { linktype: 1, dlt: 1 },
  raw: { linktype: 101, dlt: 12 },
} as const;
export type LinkTypeName = keyof typeof LINK_TYPES;

/** struct sock_filter[] in host byte order, what SO_ATTACH_FILTER takes. */
export function encodeBpf(program: readonly BpfInstruction[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export function decodeBpf(buf: Buffer): BpfInstruction[] {
  const out: BpfInstruction[] = [];
  for (let off = 0; off + 8 <= buf.length; off += 8) {
    out.push({
      code: buf.readUInt16LE(off),
      jt: buf.readUInt8(off + 2),
      jf: buf.readUInt8(off + 3),
      k: buf.readUInt32LE(off + 4),
    });
  }
  return out;
}

/** The program as `tcpdump -ddd` prints it. */
export function formatBpfDecimal(program: readonly BpfInstruction[]): string {
  return [String(program.length), ...program.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}`)].join("\n");
}

/** Parses `tcpdump -ddd` output (the instruction count line first). */
export function parseBpfDecimal(text: string): BpfInstruction[] {
  const lines = text.trim().split(/\r?\n/);
  const count = Number(lines.shift());
  const program = lines.map((line) => {
    const [code, jt, jf, k] = line.trim().split(/\s+/).map(Number);
    if ([code, jt, jf, k].some((n) => n === undefined || !Number.isInteger(n)))
      throw new Error(`not a BPF instruction line: "${line}"`);
    return { code: code as number, jt: jt as number, jf: jf as number, k: k as number };
  });
  if (program.length !== count) throw new Error(`expected ${count} instructions, got ${program.length}`);
  return program;
}

export interface PcapCompileOptions {
  /** Link type the expression is compiled for (default ethernet). */
  linkType?: LinkTypeName;
  /** Bytes the program keeps of each packet: its "ret" value (default 1600). */
  snaplen?: number;
  /** libpcap's optimizer, on as in tcpdump (default true). */
  optimize?: boolean;
  /** IPv4 netmask for "ip broadcast" (default 0, as tcpdump uses when reading a file). */
  netmask?: number;
  /** Library names to dlopen instead of libpcap.so.0.8, libpcap.so.1, libpcap.so. */
  libraries?: string[];
}

/** A pcap-filter expression libpcap refused; `reason` is libpcap's message, on one line. */
export class PcapFilterError extends Error {
  override readonly name: string = "PcapFilterError";
  readonly code = "EFILTER";
  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`filter "${expression}": ${reason}`);
  }
}

/** libpcap is needed (to compile an expression) and could not be loaded. */
export class LibpcapMissingError extends Error {
  override readonly name = "LibpcapMissingError";
  readonly code = "ELIBPCAP";
  readonly debianPackage = "libpcap0.8";
}

/**
 * Compiles a pcap-filter expression (tcpdump's syntax) with the system's libpcap, loaded at run
 * time; the result equals `tcpdump -ddd` for the same link type and snap length.
 */
export function compilePcapFilter(expression: string, options: PcapCompileOptions = {}): BpfInstruction[] {
  const link = LINK_TYPES[options.linkType ?? "ethernet"];
  if (link === undefined)
    throw new NetlinkInputError("linkType", `must be one of ${Object.keys(LINK_TYPES).join(", ")}`);
  const snaplen = options.snaplen ?? 1600;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_SNAPLEN)
    throw new NetlinkInputError("snaplen", `must be an integer from 1 to ${MAX_SNAPLEN} (got ${snaplen})`);
  try {
    const buf = captureAddon().compileFilter(
      expression,
      link.dlt,
      snaplen,
      options.optimize ?? true,
      (options.netmask ?? 0) >>> 0,
      options.libraries,
    );
    return decodeBpf(buf);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EFILTER") throw new PcapFilterError(expression, e.message);
    if (e.code === "ELIBPCAP") throw new LibpcapMissingError(e.message);
    throw error;
  }
}
