// Filters: pcap-filter expressions compiled by the system's libpcap (loaded at run time; the
// result equals `tcpdump -ddd`), or raw classic BPF given by the caller.
import {
  type BpfInstruction,
  compilePcapFilter,
  formatBpfDecimal,
  type LinkTypeName,
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

/** Compiles a pcap-filter expression to classic BPF. Throws CaptureFilterError on bad syntax. */
export function compileFilter(expression: string, options: CompileOptions = {}): BpfInstruction[] {
  if (typeof expression !== "string" || expression.trim() === "")
    throw new CaptureInputError("filter", "must be a non-empty expression");
  try {
    return compilePcapFilter(expression, options);
  } catch (error) {
    if (error instanceof PcapFilterError) throw new CaptureFilterError(error.expression, error.reason);
    throw error;
  }
}
