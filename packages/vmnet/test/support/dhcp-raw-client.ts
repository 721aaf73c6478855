// A hand-driven DHCP client on a packet socket in the VM netns, for the exchanges real clients
// cannot be made to perform on demand (INIT-REBOOT with a stale address, a unicast RENEW to the
// server identifier, a DECLINE, an INFORM, a REQUEST for another server) and for hostile frames.
import type { TestNetns } from "@vmnet/harness";
import { type NativeDatagramSocket, native } from "@vmnet/netlink-native";
import { execa } from "execa";
import { buildFrame, parseFrame } from "../../src/dhcp/frame.js";
import { BROADCAST_MAC, macBytes } from "../../src/dhcp/mac.js";
import { OPTION } from "../../src/dhcp/options.js";
import { type DhcpMessage, decodeDhcpMessage, encodeDhcpMessage } from "../../src/dhcp/packet.js";
import { ipv4Destination } from "../../src/dhcp/packet-socket.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;

export interface Reply {
  message: DhcpMessage;
  /** Where the server sent it. */
  dstMac: string;
  dstIp: number;
  srcIp: number;
}

export interface Ask {
  type: number;
  xid?: number;
  ciaddr?: number;
  flags?: number;
  giaddr?: number;
  /** IP destination (default broadcast) and Ethernet destination (default broadcast). */
  dstIp?: number;
  dstMac?: Buffer;
  srcIp?: number;
  chaddr?: Buffer;
  options?: [number, Buffer][];
}

export class RawClient {
  private replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  private xid = 0x1000 + Math.floor(Math.random() * 0xffff);

  private constructor(
    private readonly socket: NativeDatagramSocket,
    private readonly ifindex: number,
    readonly mac: Buffer,
  ) {}

  static async open(vm: TestNetns, iface: string, mac: string): Promise<RawClient> {
    const ifindex = Number(
      (await execa("ip", ["netns", "exec", vm.name, "cat", `/sys/class/net/${iface}/ifindex`])).stdout,
    );
    let client: RawClient | undefined;
    const socket = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, vm.path, (_err, data, lengths) => {
      let at = 0;
      for (const len of lengths) {
        client?.onFrame(Buffer.from(data.subarray(at, at + len)));
        at += len;
      }
    });
    socket.bind(ipv4Destination(ifindex, Buffer.alloc(6)));
    socket.setOption(263, 23, 1); // PACKET_IGNORE_OUTGOING
    socket.start();
    client = new RawClient(socket, ifindex, macBytes(mac));
    return client;
  }

  private onFrame(frame: Buffer): void {
    const parsed = parseFrameTo68(frame);
    if (!parsed) return;
    this.replies.push(parsed);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends any frame as is (hostile input). */
  async sendFrame(frame: Buffer): Promise<void> {
    await this.socket.send(frame, ipv4Destination(this.ifindex, frame.subarray(0, 6)));
  }

  /** Sends a request and waits for the reply with its xid; undefined when none comes in time. */
  async ask(ask: Ask, timeoutMs = 1500): Promise<Reply | undefined> {
    this.xid += 1;
    const xid = ask.xid ?? this.xid;
    const payload = encodeDhcpMessage({
      op: 1,
      xid,
      flags: ask.flags ?? 0,
      ciaddr: ask.ciaddr ?? 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: ask.giaddr ?? 0,
      chaddr: ask.chaddr ?? this.mac,
      messageType: ask.type,
      options: ask.options ?? [],
    });
    await this.sendFrame(
      buildFrame({
        srcMac: ask.chaddr ?? this.mac,
        dstMac: ask.dstMac ?? BROADCAST_MAC,
        srcIp: ask.srcIp ?? ask.ciaddr ?? 0,
        dstIp: ask.dstIp ?? 0xffffffff,
        srcPort: 68,
        dstPort: 67,
        payload,
      }),
    );
    return this.waitFor((r) => r.message.xid === xid, timeoutMs);
  }

  async waitFor(match: (r: Reply) => boolean, timeoutMs: number): Promise<Reply | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.replies.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Every reply seen so far. */
  get received(): readonly Reply[] {
    return this.replies;
  }

  close(): void {
    this.socket.close();
  }
}

function parseFrameTo68(frame: Buffer): Reply | undefined {
  // parseFrame only accepts port 67; swap the port to reuse its checks for replies to port 68.
  if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 17) return undefined;
  const ihl = ((frame[14] as number) & 0x0f) * 4;
  if (frame.readUInt16BE(14 + ihl + 2) !== 68) return undefined;
  const copy = Buffer.from(frame);
  copy.writeUInt16BE(67, 14 + ihl + 2);
  const parsed = parseFrame(copy);
  if (parsed.kind !== "dhcp") return undefined;
  try {
    return {
      message: decodeDhcpMessage(parsed.datagram.payload),
      dstMac: [...parsed.datagram.dstMac].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      dstIp: parsed.datagram.dstIp,
      srcIp: parsed.datagram.srcIp,
    };
  } catch {
    return undefined;
  }
}

export const ip4 = (text: string): number => text.split(".").reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
export { OPTION };
