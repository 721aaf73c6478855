// A NetFlow v5 receiver on a UDP socket opened INSIDE the switch's netns (the addon opens it there),
// so a switch in a private namespace can export to 127.0.0.1 of its own namespace. Datagrams are
// parsed by @vmnet/ovs's pure v5 parser; records are kept (bounded) and emitted.
import { EventEmitter } from "node:events";
import { type NativeDatagramSocket, type NetnsRef, native, netnsPath } from "@vmnet/netlink-native";
import { type NetflowV5Record, parseNetflowV5 } from "@vmnet/ovs";

const AF_INET = 2;
const SOCK_DGRAM = 2;

export interface NetflowRecord extends NetflowV5Record {
  receivedAt: number;
}

export class NetflowReceiver extends EventEmitter<{ record: [NetflowRecord] }> {
  private readonly kept: NetflowRecord[] = [];
  private invalidCount = 0;

  private constructor(
    private readonly socket: NativeDatagramSocket,
    readonly port: number,
    private readonly maxRecords: number,
  ) {
    super();
  }

  static open(netns: NetnsRef | undefined, maxRecords = 100_000): NetflowReceiver {
    let receiver: NetflowReceiver | undefined;
    const socket = new (native().DatagramSocket)(
      AF_INET,
      SOCK_DGRAM,
      0,
      netns === undefined ? "" : netnsPath(netns),
      (error, data, lengths) => {
        if (error || !receiver) return;
        let offset = 0;
        for (const length of lengths) {
          receiver.onDatagram(data.subarray(offset, offset + length));
          offset += length;
        }
      },
    );
    try {
      const addr = Buffer.alloc(16);
      addr.writeUInt16LE(AF_INET, 0);
      addr.writeUInt16BE(0, 2);
      addr.set([127, 0, 0, 1], 4);
      socket.bind(addr);
      const port = socket.localAddress().readUInt16BE(2);
      receiver = new NetflowReceiver(socket, port, maxRecords);
      socket.start();
      socket.unref();
      return receiver;
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  /** "127.0.0.1:PORT", the target for the bridge's NetFlow row. */
  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  get records(): readonly NetflowRecord[] {
    return this.kept;
  }

  get invalid(): number {
    return this.invalidCount;
  }

  close(): void {
    this.socket.stop();
    this.socket.close();
  }

  private onDatagram(datagram: Buffer): void {
    let records: NetflowV5Record[];
    try {
      records = parseNetflowV5(Buffer.from(datagram)).records;
    } catch {
      this.invalidCount++;
      return;
    }
    const receivedAt = Date.now();
    for (const r of records) {
      const record = { ...r, receivedAt };
      this.kept.push(record);
      if (this.kept.length > this.maxRecords) this.kept.shift();
      this.emit("record", record);
    }
  }
}
