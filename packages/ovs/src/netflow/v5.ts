// NetFlow v5 export packets (Cisco's fixed format, what OVS sends): a 24-byte header and up to
// 30 records of 48 bytes each, all big-endian. Pure parsing, no I/O.
import { OvsError } from "../errors.js";

export interface NetflowV5Header {
  version: 5;
  count: number;
  /** Milliseconds since the exporter started. */
  sysUptimeMs: number;
  unixSeconds: number;
  unixNanoseconds: number;
  /** Sequence number of the first record in this packet (counts records, not packets). */
  flowSequence: number;
  engineType: number;
  engineId: number;
  samplingInterval: number;
}

export interface NetflowV5Record {
  srcAddr: string;
  dstAddr: string;
  nextHop: string;
  /** SNMP index (OVS: OpenFlow port, or 65535 when unknown). */
  inputInterface: number;
  outputInterface: number;
  packets: number;
  bytes: number;
  /** sysUptime (ms) at the first and the last packet. */
  firstMs: number;
  lastMs: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** IP protocol number (1 ICMP, 6 TCP, 17 UDP). */
  protocol: number;
  tos: number;
  srcAs: number;
  dstAs: number;
  srcMask: number;
  dstMask: number;
}

export interface NetflowV5Packet {
  header: NetflowV5Header;
  records: NetflowV5Record[];
}

export const NETFLOW_V5_HEADER_BYTES = 24;
export const NETFLOW_V5_RECORD_BYTES = 48;

/** A datagram that is not a well-formed NetFlow v5 packet. */
export class NetflowParseError extends OvsError {
  override name = "NetflowParseError";
}

const ipv4 = (buf: Buffer, offset: number) =>
  `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;

/** Parses one NetFlow v5 datagram; throws NetflowParseError for anything else. */
export function parseNetflowV5(datagram: Buffer): NetflowV5Packet {
  if (datagram.length < NETFLOW_V5_HEADER_BYTES) {
    throw new NetflowParseError(`datagram of ${datagram.length} bytes is shorter than a NetFlow v5 header`);
  }
  const version = datagram.readUInt16BE(0);
  if (version !== 5) throw new NetflowParseError(`NetFlow version ${version}, expected 5`);
  const count = datagram.readUInt16BE(2);
  const expected = NETFLOW_V5_HEADER_BYTES + count * NETFLOW_V5_RECORD_BYTES;
  if (datagram.length !== expected) {
    throw new NetflowParseError(
      `header announces ${count} records (${expected} bytes) but the datagram has ${datagram.length} bytes`,
    );
  }
  const header: NetflowV5Header = {
    version: 5,
    count,
    sysUptimeMs: datagram.readUInt32BE(4),
    unixSeconds: datagram.readUInt32BE(8),
    unixNanoseconds: datagram.readUInt32BE(12),
    flowSequence: datagram.readUInt32BE(16),
    engineType: datagram.readUInt8(20),
    engineId: datagram.readUInt8(21),
    samplingInterval: datagram.readUInt16BE(22) & 0x3fff,
  };
  const records: NetflowV5Record[] = [];
  for (let i = 0; i < count; i++) {
    const o = NETFLOW_V5_HEADER_BYTES + i * NETFLOW_V5_RECORD_BYTES;
    records.push({
      srcAddr: ipv4(datagram, o),
      dstAddr: ipv4(datagram, o + 4),
      nextHop: ipv4(datagram, o + 8),
      inputInterface: datagram.readUInt16BE(o + 12),
      outputInterface: datagram.readUInt16BE(o + 14),
      packets: datagram.readUInt32BE(o + 16),
      bytes: datagram.readUInt32BE(o + 20),
      firstMs: datagram.readUInt32BE(o + 24),
      lastMs: datagram.readUInt32BE(o + 28),
      srcPort: datagram.readUInt16BE(o + 32),
      dstPort: datagram.readUInt16BE(o + 34),
      tcpFlags: datagram.readUInt8(o + 37),
      protocol: datagram.readUInt8(o + 38),
      tos: datagram.readUInt8(o + 39),
      srcAs: datagram.readUInt16BE(o + 40),
      dstAs: datagram.readUInt16BE(o + 42),
      srcMask: datagram.readUInt8(o + 44),
      dstMask: datagram.readUInt8(o + 45),
    });
  }
  return { header, records };
}
