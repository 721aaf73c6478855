// A NetFlow v5 collector on a UDP socket (loopback, ephemeral port by default), in the spirit of
// minimega's gonetflow: it keeps what arrived and emits each packet and record as it comes.
// A malformed datagram is reported as an "invalid" event and never stops the collector.
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import type { WriteOptions } from "../vswitch/context.js";
import type { NetflowSpec } from "../vswitch/inputs.js";
import type { Vswitch } from "../vswitch/vswitch.js";
import { NetflowParseError, type NetflowV5Packet, type NetflowV5Record, parseNetflowV5 } from "./v5.js";

export interface NetflowCollectorOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** UDP port (default 0: an ephemeral port). */
  port?: number;
  /** How many records to keep (oldest dropped first; default 100000). */
  maxRecords?: number;
}

/** A record with the exporter it came from and when it arrived. */
export interface CollectedRecord extends NetflowV5Record {
  exporter: string;
  receivedAt: number;
  engineType: number;
  engineId: number;
}

export interface NetflowCollectorEvents {
  packet: [packet: NetflowV5Packet, exporter: string];
  record: [record: CollectedRecord];
  invalid: [error: NetflowParseError, exporter: string];
}

export class NetflowCollector extends EventEmitter<NetflowCollectorEvents> {
  private readonly kept: CollectedRecord[] = [];
  private packetCount = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly maxRecords: number,
  ) {
    super();
    socket.on("message", (message, rinfo) => this.onMessage(message, `${rinfo.address}:${rinfo.port}`));
  }

  /** Binds the UDP socket and resolves once it listens. */
  static async start(options: NetflowCollectorOptions = {}): Promise<NetflowCollector> {
    const host = options.host ?? "127.0.0.1";
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return new NetflowCollector(socket, options.maxRecords ?? 100_000);
  }

  /** "IP:PORT" to put in a bridge's NetFlow targets. */
  get target(): string {
    const { address, port } = this.socket.address();
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Records received so far (oldest first). */
  get records(): readonly CollectedRecord[] {
    return this.kept;
  }

  get packets(): number {
    return this.packetCount;
  }

  /** Points a bridge's NetFlow export at this collector. */
  attach(
    vswitch: Vswitch,
    bridge: string,
    spec: Omit<NetflowSpec, "targets"> = {},
    options?: WriteOptions,
  ): Promise<void> {
    return vswitch.setNetflow(bridge, { ...spec, targets: [this.target] }, options);
  }

  /** Resolves with the first record (already kept or arriving) that satisfies `predicate`. */
  waitFor(predicate: (record: CollectedRecord) => boolean, timeoutMs = 30_000): Promise<CollectedRecord> {
    const found = this.kept.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onRecord = (record: CollectedRecord) => {
        if (!predicate(record)) return;
        clearTimeout(timer);
        this.off("record", onRecord);
        resolve(record);
      };
      const timer = setTimeout(() => {
        this.off("record", onRecord);
        reject(
          new Error(
            `no matching NetFlow record within ${timeoutMs} ms (${this.kept.length} records received)`,
          ),
        );
      }, timeoutMs);
      this.on("record", onRecord);
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private onMessage(message: Buffer, exporter: string): void {
    let packet: NetflowV5Packet;
    try {
      packet = parseNetflowV5(message);
    } catch (error) {
      if (error instanceof NetflowParseError) {
        this.emit("invalid", error, exporter);
        return;
      }
      throw error;
    }
    this.packetCount += 1;
    this.emit("packet", packet, exporter);
    const receivedAt = Date.now();
    for (const record of packet.records) {
      const collected: CollectedRecord = {
        ...record,
        exporter,
        receivedAt,
        engineType: packet.header.engineType,
        engineId: packet.header.engineId,
      };
      this.kept.push(collected);
      if (this.kept.length > this.maxRecords) this.kept.shift();
      this.emit("record", collected);
    }
  }
}
