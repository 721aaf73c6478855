// htb: hierarchical token buckets. The qdisc carries global settings (TCA_HTB_INIT: r2q, default
// class); each class a rate, a ceiling, their buckets and rate tables, as tc 6.x encodes them.
import { type AttrWriter, parseAttrs } from "@vmnet/netlink-native/codec";
import { z } from "zod";
import * as C from "../constants.js";
import { TcInputError } from "../errors.js";
import { type Psched, xmitSize, xmitTime } from "../psched.js";
import {
  type LinkLayer,
  linkLayerName,
  RATESPEC_LEN,
  rateTable,
  readRateSpec,
  writeRateSpec,
} from "../rate-table.js";
import { positiveRate, sizeAndCell, u16, u32 } from "../validate.js";
import { defineQdiscKind } from "./kind.js";

/** tc reads "default" in hex ("default 10" is class :10); a "1:10" class id is accepted too. */
const defaultClass = z.unknown().transform((v, ctx) => {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
  if (typeof v === "string") {
    const m = /^(?:[0-9a-fA-F]{0,4}:)?([0-9a-fA-F]{1,4})$/.exec(v.trim());
    if (m) return Number.parseInt(m[1] as string, 16);
  }
  ctx.addIssue({
    code: "custom",
    message: 'expected a class minor number in hex as tc writes it ("10", "1:10") or a number',
  });
  return z.NEVER;
}) as unknown as z.ZodType<number, string | number>;

export const htbSchema = z
  .object({
    /** The class unclassified traffic goes to (tc's "default", hex: "10" means class :10). */
    default: defaultClass.optional(),
    /** Divisor turning rates into DRR quanta (default 10). */
    r2q: u32.optional(),
    /** Packets the direct (unclassified, no default) queue holds. */
    directQlen: u32.optional(),
    offload: z.boolean().optional(),
  })
  .strict();

export const htbClassSchema = z
  .object({
    /** Guaranteed rate. */
    rate: positiveRate,
    /** Rate it may borrow up to (default: rate). */
    ceil: positiveRate.optional(),
    /** Bucket for rate (default: rate / HZ + mtu, as tc computes it). "15k/8" also sets the cell. */
    burst: sizeAndCell.refine((b) => b.bytes > 0, "must be greater than 0").optional(),
    /** Bucket for ceil. */
    cburst: sizeAndCell.refine((b) => b.bytes > 0, "must be greater than 0").optional(),
    /** Leaf priority; lower is served first. */
    prio: u32.optional(),
    /** Bytes served per round (default: rate / r2q). */
    quantum: u32.optional(),
    /** Largest packet the rate tables cover (default 1600). */
    mtu: u32.optional(),
    mpu: u16.optional(),
    overhead: u16.optional(),
    linklayer: z.enum(["ethernet", "atm"]).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.ceil !== undefined && o.ceil < o.rate)
      ctx.addIssue({ code: "custom", path: ["ceil"], message: 'must not be less than "rate"' });
  });

export type HtbOptions = z.input<typeof htbSchema>;
export type HtbClassOptions = z.input<typeof htbClassSchema>;

export interface HtbInfo {
  r2q: number;
  /** Minor number of the default class. */
  default: number;
  version: number;
  directPackets: number;
  directQlen?: number;
  offload?: boolean;
}

export interface HtbClassInfo {
  rate: number;
  ceil: number;
  burst: number;
  cburst: number;
  prio: number;
  quantum: number;
  level: number;
  mpu: number;
  overhead: number;
  linklayer: LinkLayer | "unaware";
}

export function encodeHtb(w: AttrWriter, o: z.output<typeof htbSchema>): void {
  const glob = Buffer.alloc(C.SIZEOF_TC_HTB_GLOB);
  glob.writeUInt32LE(C.TC_HTB_PROTOVER, 0);
  glob.writeUInt32LE(o.r2q ?? 10, 4);
  glob.writeUInt32LE(o.default ?? 0, 8);
  w.begin(C.TCA_OPTIONS);
  w.attr(C.TCA_HTB_INIT, glob);
  if (o.directQlen !== undefined) w.u32(C.TCA_HTB_DIRECT_QLEN, o.directQlen);
  if (o.offload) w.flag(C.TCA_HTB_OFFLOAD);
  w.end();
}

export function encodeHtbClass(w: AttrWriter, o: z.output<typeof htbClassSchema>, p: Psched): void {
  const mtu = o.mtu ?? 1600;
  const mpu = o.mpu ?? 0;
  const overhead = o.overhead ?? 0;
  const linklayer = o.linklayer ?? "ethernet";
  const rate = o.rate;
  const ceil = o.ceil ?? rate;
  // tc's defaults: enough bucket for one tick of the rate plus a full packet.
  const buffer = o.burst?.bytes ?? Math.trunc(rate / p.hz) + mtu;
  const cbuffer = o.cburst?.bytes ?? Math.trunc(ceil / p.hz) + mtu;
  if (buffer > 0xffffffff || cbuffer > 0xffffffff)
    throw new TcInputError("class.burst", "does not fit 32 bits");
  const r = rateTable(
    {
      rate,
      ...(o.burst?.cellLog !== undefined ? { cellLog: o.burst.cellLog } : {}),
      mtu,
      mpu,
      overhead,
      linklayer,
    },
    p,
  );
  const c = rateTable(
    {
      rate: ceil,
      ...(o.cburst?.cellLog !== undefined ? { cellLog: o.cburst.cellLog } : {}),
      mtu,
      mpu,
      overhead,
      linklayer,
    },
    p,
  );
  const opt = Buffer.alloc(C.SIZEOF_TC_HTB_OPT);
  writeRateSpec(opt, 0, r.spec);
  writeRateSpec(opt, RATESPEC_LEN, c.spec);
  opt.writeUInt32LE(xmitTime(rate, buffer, p), 24);
  opt.writeUInt32LE(xmitTime(ceil, cbuffer, p), 28);
  opt.writeUInt32LE(o.quantum ?? 0, 32);
  opt.writeUInt32LE(0, 36);
  opt.writeUInt32LE(o.prio ?? 0, 40);
  w.begin(C.TCA_OPTIONS);
  if (rate >= 2 ** 32) w.u64(C.TCA_HTB_RATE64, BigInt(rate));
  if (ceil >= 2 ** 32) w.u64(C.TCA_HTB_CEIL64, BigInt(ceil));
  w.attr(C.TCA_HTB_PARMS, opt);
  w.attr(C.TCA_HTB_RTAB, r.table);
  w.attr(C.TCA_HTB_CTAB, c.table);
  w.end();
}

export function decodeHtb(options: Buffer | undefined): HtbInfo | undefined {
  if (!options) return undefined;
  let info: HtbInfo | undefined;
  let directQlen: number | undefined;
  let offload = false;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_HTB_INIT && a.data.length >= C.SIZEOF_TC_HTB_GLOB) {
      info = {
        version: a.data.readUInt32LE(0),
        r2q: a.data.readUInt32LE(4),
        default: a.data.readUInt32LE(8),
        directPackets: a.data.readUInt32LE(16),
      };
    } else if (a.type === C.TCA_HTB_DIRECT_QLEN && a.data.length >= 4) directQlen = a.data.readUInt32LE(0);
    else if (a.type === C.TCA_HTB_OFFLOAD) offload = true;
  }
  if (!info) return undefined;
  if (directQlen !== undefined) info.directQlen = directQlen;
  if (offload) info.offload = true;
  return info;
}

/** The kernel dumps tc_htb_glob.version as 0x30011 (HTB_VER) but creates only with its major (3). */
export function restoreHtb(dumped: Buffer): Buffer {
  const out = Buffer.from(dumped);
  for (let off = 0; off + 4 <= out.length; ) {
    const len = out.readUInt16LE(off);
    const type = out.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4) break;
    if (type === C.TCA_HTB_INIT && len >= 4 + 4) out.writeUInt32LE(out.readUInt32LE(off + 4) >>> 16, off + 4);
    off += (len + 3) & ~3;
  }
  return out;
}

export function decodeHtbClass(options: Buffer | undefined, p: Psched): HtbClassInfo | undefined {
  if (!options) return undefined;
  let opt: Buffer | undefined;
  let rate64: number | undefined;
  let ceil64: number | undefined;
  for (const a of parseAttrs(options)) {
    if (a.type === C.TCA_HTB_PARMS && a.data.length >= C.SIZEOF_TC_HTB_OPT) opt = a.data;
    else if (a.type === C.TCA_HTB_RATE64 && a.data.length >= 8) rate64 = Number(a.data.readBigUInt64LE(0));
    else if (a.type === C.TCA_HTB_CEIL64 && a.data.length >= 8) ceil64 = Number(a.data.readBigUInt64LE(0));
  }
  if (!opt) return undefined;
  const rs = readRateSpec(opt, 0);
  const cs = readRateSpec(opt, RATESPEC_LEN);
  const rate = rate64 ?? rs.rate;
  const ceil = ceil64 ?? cs.rate;
  return {
    rate,
    ceil,
    burst: xmitSize(rate, opt.readUInt32LE(24), p),
    cburst: xmitSize(ceil, opt.readUInt32LE(28), p),
    quantum: opt.readUInt32LE(32),
    level: opt.readUInt32LE(36),
    prio: opt.readUInt32LE(40),
    mpu: rs.mpu,
    overhead: rs.overhead,
    linklayer: linkLayerName(rs.linklayer),
  };
}

export const htb = defineQdiscKind({
  kind: "htb",
  schema: htbSchema,
  encode: (w, o) => encodeHtb(w, o),
  decode: (opts) => decodeHtb(opts),
  restore: restoreHtb,
  classes: {
    schema: htbClassSchema as z.ZodType<unknown, unknown>,
    encode: (w, o, ctx) => encodeHtbClass(w, o as z.output<typeof htbClassSchema>, ctx.psched),
    decode: (opts, ctx) => decodeHtbClass(opts, ctx.psched),
  },
});
