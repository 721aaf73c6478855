// A NetFlow v5 collector on a UDP socket (loopback, ephemeral port by default), in the spirit of
// minimega's gonetflow: it keeps what arrived and emits each packet and record as it comes.
// A malformed datagram is reported as an "invalid" event and never stops the collector.
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { z } from "zod";
import { OvsError, OvsTimeoutError, parseInput } from "../errors.js";
import type { WriteOptions } from "../vswitch/context.js";
import type { NetflowSpec } from "../vswitch/inputs.js";
import type { Vswitch } from "../vswitch/vswitch.js";
import { NetflowParseError, type NetflowV5Packet, type NetflowV5Record, parseNetflowV5 } from "./v5.js";

const collectorOptions = z
  .object({
    /** Address to bind (default 127.0.0.1). */
    host: z
      .string()
      .refine((s) => isIP(s) !== 0, "must be an IPv4 or IPv6 address")
      .optional(),
    /** UDP port (default 0: an ephemeral port). */
    port: z
      .number()
      .int("must be an integer")
      .min(0, "must be a port from 0 to 65535")
      .max(65535, "must be a port from 0 to 65535")
      .optional(),
    /** How many records to keep (oldest dropped first; default 100000). */
    maxRecords: z.number().int("must be an integer").min(1, "must be at least 1").optional(),
  })
  .strict();
export type NetflowCollectorOptions = z.input<typeof collectorOptions>;

/** The collector's socket failed after it was bound; the collector is stopped. */
export class NetflowCollectorError extends OvsError {
  override name = "NetflowCollectorError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
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
  /** The collector stopped: by stop() (no error) or because its socket failed. */
  close: [error: NetflowCollectorError | undefined];
}

export class NetflowCollector extends EventEmitter<NetflowCollectorEvents> {
  private readonly kept: CollectedRecord[] = [];
  private packetCount = 0;
  private stopped = false;
  private failure: NetflowCollectorError | undefined;
  private readonly boundAddress: { address: string; port: number };

  private constructor(
    private readonly socket: Socket,
    private readonly maxRecords: number,
  ) {
    super();
    this.boundAddress = socket.address();
    socket.on("message", (message, rinfo) => this.onMessage(message, `${rinfo.address}:${rinfo.port}`));
    // Without a listener a socket error would be thrown from the event loop and end the process.
    socket.on("error", (error) => {
      this.failure = new NetflowCollectorError(
        `NetFlow collector on ${this.target} failed: ${error.message}`,
        {
          cause: error,
        },
      );
      this.finish();
    });
  }

  /** Binds the UDP socket and resolves once it listens. Bad options throw OvsInputError (nothing bound). */
  static async start(input: NetflowCollectorOptions = {}): Promise<NetflowCollector> {
    const options = parseInput(collectorOptions, input, "collector");
    const host = options.host ?? "127.0.0.1";
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(options.port ?? 0, host, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw new NetflowCollectorError(
        `cannot bind a NetFlow collector to ${host}:${options.port ?? 0}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return new NetflowCollector(socket, options.maxRecords ?? 100_000);
  }

  /** Why the collector stopped on its own (its socket failed), if it did. */
  get error(): NetflowCollectorError | undefined {
    return this.failure;
  }

  /** "IP:PORT" to put in a bridge's NetFlow targets. */
  get target(): string {
    const { address, port } = this.boundAddress;
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  }

  get port(): number {
    return this.boundAddress.port;
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
    if (this.stopped)
      return Promise.reject(this.failure ?? new NetflowCollectorError("the NetFlow collector is stopped"));
    return new Promise((resolve, reject) => {
      const onRecord = (record: CollectedRecord) => {
        if (!predicate(record)) return;
        cleanup();
        resolve(record);
      };
      const onClose = (error: NetflowCollectorError | undefined) => {
        cleanup();
        reject(error ?? new NetflowCollectorError("the NetFlow collector was stopped while waiting"));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new OvsTimeoutError(
            `no matching NetFlow record within ${timeoutMs} ms (${this.kept.length} records received)`,
            timeoutMs,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("record", onRecord);
        this.off("close", onClose);
      };
      this.on("record", onRecord);
      this.on("close", onClose);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      this.socket.close(() => resolve());
      this.finish();
    });
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.failure) {
      try {
        this.socket.close();
      } catch {
        // already closed by the failure itself
      }
    }
    this.emit("close", this.failure);
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
