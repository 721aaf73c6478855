// Rate tables: 256 transmission times, one per packet-size cell, that tbf, htb (and the policer)
// carry as TCA_*_RTAB. Kernels since 3.8 compute times themselves and use the table only for the
// link-layer check, but still require it, so it is computed exactly as tc_calc_rtable() does:
// the cell log from the MTU, each cell's size adjusted for MPU and ATM framing, then
// tc_calc_xmittime() of that size.
import { type Psched, xmitTime } from "./psched.js";

export type LinkLayer = "ethernet" | "atm";

/** struct tc_ratespec, as tc fills it next to its table. */
export interface RateSpec {
  cellLog: number;
  linklayer: number;
  overhead: number;
  cellAlign: number;
  mpu: number;
  /** Bytes per second, capped at 0xffffffff (the 64-bit attribute carries larger rates). */
  rate: number;
}

export interface RateTableInput {
  /** Bytes per second (full 64-bit value; the table uses the 32-bit capped one as tc does). */
  rate: number;
  /** log2 of the cell size, or undefined to derive it from the MTU. */
  cellLog?: number;
  /** Largest packet the table covers; 0 means tc's default of 2047. */
  mtu: number;
  mpu: number;
  overhead: number;
  linklayer: LinkLayer;
}

const ATM_CELL_PAYLOAD = 48;
const ATM_CELL_SIZE = 53;
export const LINKLAYER_ETHERNET = 1;
export const LINKLAYER_ATM = 2;

function adjustSize(size: number, mpu: number, linklayer: LinkLayer): number {
  const sz = Math.max(size, mpu);
  if (linklayer === "atm") return Math.ceil(sz / ATM_CELL_PAYLOAD) * ATM_CELL_SIZE;
  return sz;
}

/** The 32-bit rate field: rates from 4 GB/s up are sent as ~0 plus a 64-bit attribute. */
export function rate32(rate: number): number {
  return rate >= 2 ** 32 ? 0xffffffff : rate;
}

const cache = new Map<string, { spec: RateSpec; table: Buffer }>();

/** The rate spec and its 1024-byte table (cached: encoding 1000 identical requests stays cheap). */
export function rateTable(input: RateTableInput, p: Psched): { spec: RateSpec; table: Buffer } {
  const key = `${input.rate}/${input.cellLog}/${input.mtu}/${input.mpu}/${input.overhead}/${input.linklayer}/${p.tickInUsec}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const bps = rate32(input.rate);
  const mtu = input.mtu === 0 ? 2047 : input.mtu;
  let cellLog = input.cellLog;
  if (cellLog === undefined) {
    cellLog = 0;
    while (mtu >>> cellLog > 255) cellLog++;
  }
  const table = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) {
    const size = adjustSize((i + 1) << cellLog, input.mpu, input.linklayer);
    table.writeUInt32LE(xmitTime(bps, size, p), i * 4);
  }
  const spec: RateSpec = {
    cellLog,
    linklayer: input.linklayer === "atm" ? LINKLAYER_ATM : LINKLAYER_ETHERNET,
    overhead: input.overhead,
    cellAlign: -1,
    mpu: input.mpu,
    rate: bps,
  };
  const out = { spec, table };
  if (cache.size > 4096) cache.clear();
  cache.set(key, out);
  return out;
}

export const RATESPEC_LEN = 12;

export function writeRateSpec(buf: Buffer, off: number, r: RateSpec): void {
  buf.writeUInt8(r.cellLog, off);
  buf.writeUInt8(r.linklayer, off + 1);
  buf.writeUInt16LE(r.overhead, off + 2);
  buf.writeInt16LE(r.cellAlign, off + 4);
  buf.writeUInt16LE(r.mpu, off + 6);
  buf.writeUInt32LE(r.rate >>> 0, off + 8);
}

export function readRateSpec(buf: Buffer, off: number): RateSpec {
  return {
    cellLog: buf.readUInt8(off),
    linklayer: buf.readUInt8(off + 1),
    overhead: buf.readUInt16LE(off + 2),
    cellAlign: buf.readInt16LE(off + 4),
    mpu: buf.readUInt16LE(off + 6),
    rate: buf.readUInt32LE(off + 8),
  };
}

export function linkLayerName(code: number): LinkLayer | "unaware" {
  const l = code & 0x0f;
  return l === LINKLAYER_ATM ? "atm" : l === LINKLAYER_ETHERNET ? "ethernet" : "unaware";
}
