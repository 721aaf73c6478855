// Reads pcap and pcapng files (either byte order; pcap in micro- or nanoseconds; pcapng section,
// interface, enhanced/simple packet and statistics blocks). Small and strict: used by the tests
// to check what we write, and useful to anyone who wants the packets back.
import { readFile } from "node:fs/promises";

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

export async function readCaptureFile(path: string): Promise<CaptureFileContents> {
  return parseCaptureFile(await readFile(path));
}

export function parseCaptureFile(buf: Buffer): CaptureFileContents {
  if (buf.length < 4) throw new Error("capture file: too short");
  const magicLE = buf.readUInt32LE(0);
  if (magicLE === 0x0a0d0d0a) return parsePcapng(buf);
  return parsePcap(buf);
}

function parsePcap(buf: Buffer): CaptureFileContents {
  if (buf.length < 24) throw new Error("pcap: header cut short");
  const magics: Record<number, [boolean, bigint]> = {
    2712847316: [true, 1000n],
    2712812621: [true, 1n],
  };
  let le = true;
  let nsPerUnit: bigint;
  const m = magics[buf.readUInt32LE(0)];
  const mBE = magics[buf.readUInt32BE(0)];
  if (m) nsPerUnit = m[1];
  else if (mBE) {
    le = false;
    nsPerUnit = mBE[1];
  } else throw new Error(`pcap: bad magic 0x${buf.readUInt32LE(0).toString(16)}`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const snaplen = u32(16);
  const linkType = u32(20) & 0xffff;
  const packets: FilePacket[] = [];
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) throw new Error(`pcap: record header cut short at ${off}`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    if (off + 16 + incl > buf.length) throw new Error(`pcap: record data cut short at ${off}`);
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

function parsePcapng(buf: Buffer): CaptureFileContents {
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
      if (o + 4 + len > end) throw new Error(`pcapng: option ${code} overruns its block`);
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
    if (off + 12 > buf.length) throw new Error(`pcapng: block header cut short at ${off}`);
    const type = buf.readUInt32LE(off);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new Error("pcapng: bad byte-order magic");
      interfaces.length = 0; // interface ids are per section
    }
    const blockType = u32(off);
    const total = u32(off + 4);
    if (total < 12 || total % 4 !== 0 || off + total > buf.length)
      throw new Error(`pcapng: bad block length ${total} at ${off}`);
    if (u32(off + total - 4) !== total) throw new Error(`pcapng: trailing length differs at ${off}`);
    const body = off + 8;
    const end = off + total - 4;
    if (blockType === 1) {
      const ifc: FileInterface = { linkType: u16(body), snaplen: u32(body + 4), tsUnitsPerSecond: 1e6 };
      options(body + 8, end, (code, at, len) => {
        if (code === 2) ifc.name = buf.toString("utf8", at, at + len);
        if (code === 11 && len >= 1) ifc.filter = buf.toString("utf8", at + 1, at + len);
        if (code === 9 && len >= 1) {
          const r = buf[at] as number;
          ifc.tsUnitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
      });
      interfaces.push(ifc);
    } else if (blockType === 6) {
      const ifId = u32(body);
      const caplen = u32(body + 12);
      if (ifId >= interfaces.length) throw new Error(`pcapng: packet of unknown interface ${ifId}`);
      if (body + 20 + caplen > end) throw new Error(`pcapng: packet data overruns its block at ${off}`);
      packets.push({
        interfaceId: ifId,
        data: buf.subarray(body + 20, body + 20 + caplen),
        originalLength: u32(body + 16),
        timestampNs: tsOf(ifId, u32(body + 4), u32(body + 8)),
      });
    } else if (blockType === 3) {
      const orig = u32(body);
      const caplen = Math.min(orig, interfaces[0]?.snaplen || orig, end - body - 4);
      packets.push({
        interfaceId: 0,
        data: buf.subarray(body + 4, body + 4 + caplen),
        originalLength: orig,
        timestampNs: 0n,
      });
    } else if (blockType === 5) {
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
