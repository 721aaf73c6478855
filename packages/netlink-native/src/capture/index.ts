export { type CaptureAddon, captureAddon, type NativeCaptureOptions, type NativeEndStats } from "./addon.js";
export {
  type BpfInstruction,
  compilePcapFilter,
  decodeBpf,
  encodeBpf,
  formatBpfDecimal,
  LINK_TYPES,
  LibpcapMissingError,
  type LinkTypeName,
  MAX_SNAPLEN,
  type PcapCompileOptions,
  PcapFilterError,
  parseBpfDecimal,
} from "./bpf.js";
export {
  type CapturedPacket,
  type CaptureLimits,
  type CaptureStats,
  PacketBatch,
  PacketCapture,
  type PacketCaptureOptions,
} from "./session.js";
