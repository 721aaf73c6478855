// Reads pcap and pcapng files (either byte order; pcap in micro- or nanoseconds; pcapng section,
// interface, enhanced/simple packet and statistics blocks). Small and strict: every length is
// checked against the bytes there before it is read, so a damaged or hostile file gives a
// CaptureFileError (a DecodeError), never a RangeError, and packets are views into the buffer
// (output bounded by the input).
import { readFile } from "node:fs/promises";
import { DecodeError } from "./decode/addr.js";

export interface FileInterface {
  linkType: number;
  snaplen: number;
  name?: string;
  filter?: string;
  /** Timestamp units per second. */
  tsUnitsPerSecond: number;
}

export interface FilePacket {
  interfaceId: number;
  data: Buffer;
  originalLength: number;
  /** Nanoseconds since the epoch. */
  timestampNs: bigint;
}

export interface FileStatistics {
  interfaceId: number;
  timestampNs: bigint;
  /** pcapng isb_* options present, by name. */
  startNs?: bigint;
  endNs?: bigint;
  ifRecv?: bigint;
  ifDrop?: bigint;
  filterAccept?: bigint;
  osDrop?: bigint;
  usrDeliv?: bigint;
}

export interface CaptureFileContents {
  format: "pcap" | "pcapng";
  interfaces: FileInterface[];
  packets: FilePacket[];
  statistics: FileStatistics[];
}

/** A capture file that is not valid pcap/pcapng: `layer` is "pcap", "pcapng" or "capture file". */
export class CaptureFileError extends DecodeError {
  override readonly name: string = "CaptureFileError";
}

export async function readCaptureFile(path: string): Promise<CaptureFileContents> {
  return parseCaptureFile(await readFile(path));
}

export function parseCaptureFile(buf: Buffer): CaptureFileContents {
  if (buf.length < 4) throw new CaptureFileError("capture file", "too short");
  const magicLE = buf.readUInt32LE(0);
  if (magicLE === 0x0a0d0d0a) return parsePcapng(buf);
  return parsePcap(buf);
}

const PCAP_MAGICS: ReadonlyMap<number, bigint> = new Map([
  [0xa1b2c3d4, 1000n], // microseconds
  [0xa1b23c4d, 1n], // nanoseconds
]);

function parsePcap(buf: Buffer): CaptureFileContents {
  const fail = (reason: string) => new CaptureFileError("pcap", reason);
  if (buf.length < 24) throw fail("header cut short");
  let le = true;
  let nsPerUnit = PCAP_MAGICS.get(buf.readUInt32LE(0));
  if (nsPerUnit === undefined) {
    nsPerUnit = PCAP_MAGICS.get(buf.readUInt32BE(0));
    le = false;
  }
  if (nsPerUnit === undefined) throw fail(`bad magic 0x${buf.readUInt32LE(0).toString(16)}`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const snaplen = u32(16);
  const linkType = u32(20) & 0xffff;
  const packets: FilePacket[] = [];
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) throw fail(`record header cut short at ${off}`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    if (incl > buf.length - off - 16) throw fail(`record data cut short at ${off}`);
    packets.push({
      interfaceId: 0,
      data: buf.subarray(off + 16, off + 16 + incl),
      originalLength: orig,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * nsPerUnit,
    });
    off += 16 + incl;
  }
  return {
    format: "pcap",
    interfaces: [{ linkType, snaplen, tsUnitsPerSecond: nsPerUnit === 1n ? 1e9 : 1e6 }],
    packets,
    statistics: [],
  };
}

// if_tsresol: a power of ten, or of two with the top bit set. Kept within what a bigint
// division can use (2^63 or 10^18 units per second at most: finer is not a real clock).
function tsUnits(r: number): number {
  return r & 0x80 ? 2 ** Math.min(r & 0x7f, 63) : 10 ** Math.min(r, 18);
}

function parsePcapng(buf: Buffer): CaptureFileContents {
  const fail = (reason: string) => new CaptureFileError("pcapng", reason);
  const interfaces: FileInterface[] = [];
  const packets: FilePacket[] = [];
  const statistics: FileStatistics[] = [];
  let le = true;
  let off = 0;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => (BigInt(u32(le ? o + 4 : o)) << 32n) | BigInt(u32(le ? o : o + 4));
  const options = (start: number, end: number, each: (code: number, at: number, len: number) => void) => {
    let o = start;
    while (o + 4 <= end) {
      const code = u16(o);
      const len = u16(o + 2);
      if (code === 0) break;
      if (o + 4 + len > end) throw fail(`option ${code} overruns its block`);
      each(code, o + 4, len);
      o += 4 + ((len + 3) & ~3);
    }
  };
  const tsOf = (ifId: number, hi: number, lo: number) => {
    const units = BigInt(interfaces[ifId]?.tsUnitsPerSecond ?? 1e6);
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    return (t * 1_000_000_000n) / units;
  };
  while (off < buf.length) {
    if (off + 12 > buf.length) throw fail(`block header cut short at ${off}`);
    const type = buf.readUInt32LE(off);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw fail("bad byte-order magic");
      interfaces.length = 0; // interface ids are per section
    }
    const blockType = u32(off);
    const total = u32(off + 4);
    if (total < 12 || total % 4 !== 0 || total > buf.length - off)
      throw fail(`bad block length ${total} at ${off}`);
    if (u32(off + total - 4) !== total) throw fail(`trailing length differs at ${off}`);
    const body = off + 8;
    const end = off + total - 4;
    const needBody = (n: number, what: string) => {
      if (end - body < n) throw fail(`${what} block of ${total} bytes at ${off} is cut short`);
    };
    if (blockType === 0x0a0d0d0a) {
      needBody(16, "section header");
    } else if (blockType === 1) {
      needBody(8, "interface description");
      const ifc: FileInterface = { linkType: u16(body), snaplen: u32(body + 4), tsUnitsPerSecond: 1e6 };
      options(body + 8, end, (code, at, len) => {
        if (code === 2) ifc.name = buf.toString("utf8", at, at + len);
        if (code === 11 && len >= 1) ifc.filter = buf.toString("utf8", at + 1, at + len);
        if (code === 9 && len >= 1) ifc.tsUnitsPerSecond = tsUnits(buf[at] as number);
      });
      interfaces.push(ifc);
    } else if (blockType === 6) {
      needBody(20, "enhanced packet");
      const ifId = u32(body);
      const caplen = u32(body + 12);
      if (ifId >= interfaces.length) throw fail(`packet of unknown interface ${ifId}`);
      if (caplen > end - body - 20) throw fail(`packet data overruns its block at ${off}`);
      packets.push({
        interfaceId: ifId,
        data: buf.subarray(body + 20, body + 20 + caplen),
        originalLength: u32(body + 16),
        timestampNs: tsOf(ifId, u32(body + 4), u32(body + 8)),
      });
    } else if (blockType === 3) {
      needBody(4, "simple packet");
      const orig = u32(body);
      const caplen = Math.min(orig, interfaces[0]?.snaplen || orig, end - body - 4);
      packets.push({
        interfaceId: 0,
        data: buf.subarray(body + 4, body + 4 + caplen),
        originalLength: orig,
        timestampNs: 0n,
      });
    } else if (blockType === 5) {
      needBody(12, "interface statistics");
      const ifId = u32(body);
      const st: FileStatistics = { interfaceId: ifId, timestampNs: tsOf(ifId, u32(body + 4), u32(body + 8)) };
      options(body + 12, end, (code, at, len) => {
        if (len !== 8) return;
        if (code === 2) st.startNs = tsOf(ifId, u32(at), u32(at + 4));
        if (code === 3) st.endNs = tsOf(ifId, u32(at), u32(at + 4));
        if (code === 4) st.ifRecv = u64(at);
        if (code === 5) st.ifDrop = u64(at);
        if (code === 6) st.filterAccept = u64(at);
        if (code === 7) st.osDrop = u64(at);
        if (code === 8) st.usrDeliv = u64(at);
      });
      statistics.push(st);
    }
    off += total;
  }
  return { format: "pcapng", interfaces, packets, statistics };
}
