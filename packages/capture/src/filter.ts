// Filters: pcap-filter expressions compiled by the system's libpcap (loaded at run time; the
// result equals `tcpdump -ddd`), or raw classic BPF given by the caller.
import {
  type BpfInstruction,
  compilePcapFilter,
  formatBpfDecimal,
  type LinkTypeName,
  MAX_SNAPLEN,
  PcapFilterError,
  parseBpfDecimal,
} from "@vmnet/netlink-native";
import { CaptureFilterError, CaptureInputError } from "./errors.js";

export type { BpfInstruction, LinkTypeName };
export { formatBpfDecimal, parseBpfDecimal };

export interface CompileOptions {
  /** Link type of the capture (default ethernet; "raw" for a tun device). */
  linkType?: LinkTypeName;
  /** The program's accept value: bytes kept per packet (default 1600). */
  snaplen?: number;
  /** libpcap's optimizer (default on, as tcpdump). */
  optimize?: boolean;
  /** IPv4 netmask for "ip broadcast" (default 0, as tcpdump -r). */
  netmask?: number;
}

const LINK_TYPE_NAMES: readonly LinkTypeName[] = ["ethernet", "raw"];

function checkCompileOptions(o: CompileOptions): void {
  if (o.snaplen !== undefined && !(Number.isInteger(o.snaplen) && o.snaplen >= 1 && o.snaplen <= MAX_SNAPLEN))
    throw new CaptureInputError("snaplen", `must be an integer from 1 to ${MAX_SNAPLEN} (got ${o.snaplen})`);
  if (o.linkType !== undefined && !LINK_TYPE_NAMES.includes(o.linkType))
    throw new CaptureInputError("linkType", `must be one of ${LINK_TYPE_NAMES.join(", ")}`);
  if (o.netmask !== undefined && !(Number.isInteger(o.netmask) && o.netmask >= 0 && o.netmask <= 0xffffffff))
    throw new CaptureInputError("netmask", "must be an integer from 0 to 4294967295");
}

/** Compiles a pcap-filter expression to classic BPF. Throws CaptureFilterError on bad syntax. */
export function compileFilter(expression: string, options: CompileOptions = {}): BpfInstruction[] {
  if (typeof expression !== "string" || expression.trim() === "")
    throw new CaptureInputError("filter", "must be a non-empty expression");
  checkCompileOptions(options);
  try {
    return compilePcapFilter(expression, options);
  } catch (error) {
    if (error instanceof PcapFilterError) throw new CaptureFilterError(error.expression, error.reason);
    throw error;
  }
}
