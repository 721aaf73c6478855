export { type Capture, type CaptureOptions, type CaptureStats, startCapture } from "./capture.js";
export * from "./decode/index.js";
export { CaptureError, CaptureFilterError, CaptureInputError, LibpcapMissingError } from "./errors.js";
export {
  type BpfInstruction,
  type CompileOptions,
  compileFilter,
  formatBpfDecimal,
  type LinkTypeName,
  parseBpfDecimal,
} from "./filter.js";
export {
  batches,
  type LiveCapture,
  type LiveCaptureStats,
  type LiveOptions,
  type LivePacket,
  PacketBatch,
  packets,
} from "./packets.js";
export {
  type CaptureFileContents,
  type FileInterface,
  type FilePacket,
  type FileStatistics,
  parseCaptureFile,
  readCaptureFile,
} from "./pcap-reader.js";
