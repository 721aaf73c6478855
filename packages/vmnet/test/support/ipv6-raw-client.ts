// A hand-driven DHCPv6/ND client on a packet socket in the VM netns: sends client messages (or any
// frame at all) from the guest's MAC and link-local address and collects what comes back (DHCPv6
// replies to port 546, Router and Neighbor Advertisements).
import type { TestNetns } from "@vmnet/harness";
import { type NativeDatagramSocket, native } from "@vmnet/netlink-native";
import { execa } from "execa";
import { macBytes } from "../../src/dhcp/mac.js";
import {
  buildIpv6Frame,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  parseIpv6Frame,
  udpDatagram,
} from "../../src/dhcp6/frame6.js";
import { ALL_DHCP_AGENTS, linkLocalFromMac, multicastMac } from "../../src/dhcp6/ipv6.js";
import {
  type Dhcp6Message,
  decodeDhcp6Message,
  encodeDhcp6Message,
  option,
} from "../../src/dhcp6/message.js";
import { ipv6Destination } from "../../src/dhcp6/packet-socket6.js";

const AF_PACKET = 17;
const SOCK_RAW = 3;

export interface Received6 {
  /** A DHCPv6 reply, when the frame was one. */
  message?: Dhcp6Message;
  /** The ICMPv6 message, when the frame was one. */
  icmp?: Buffer;
  dstMac: Buffer;
  srcMac: Buffer;
  srcIp: Buffer;
  dstIp: Buffer;
  hopLimit: number;
}

export class RawClient6 {
  private got: Received6[] = [];
  private waiters: (() => void)[] = [];
  private xid = Math.floor(Math.random() * 0xfff000);
  readonly linkLocal: Buffer;
  /** A DUID-LL of the client's MAC, sent as option 1 unless told otherwise. */
  readonly clientId: Buffer;

  private constructor(
    private readonly socket: NativeDatagramSocket,
    private readonly ifindex: number,
    readonly mac: Buffer,
  ) {
    this.linkLocal = linkLocalFromMac(mac);
    this.clientId = Buffer.concat([Buffer.from([0, 3, 0, 1]), mac]);
  }

  static async open(vm: TestNetns, iface: string, mac: string): Promise<RawClient6> {
    const ifindex = Number(
      (await execa("ip", ["netns", "exec", vm.name, "cat", `/sys/class/net/${iface}/ifindex`])).stdout,
    );
    let client: RawClient6 | undefined;
    const socket = new (native().DatagramSocket)(AF_PACKET, SOCK_RAW, 0, vm.path, (_err, data, lengths) => {
      let at = 0;
      for (const len of lengths) {
        client?.onFrame(Buffer.from(data.subarray(at, at + len)));
        at += len;
      }
    });
    socket.bind(ipv6Destination(ifindex, Buffer.alloc(6)));
    socket.setOption(263, 23, 1); // PACKET_IGNORE_OUTGOING
    socket.start();
    client = new RawClient6(socket, ifindex, macBytes(mac));
    return client;
  }

  private onFrame(frame: Buffer): void {
    const parsed = parseIpv6Frame(frame);
    if (parsed.kind !== "packet") return;
    const p = parsed.packet;
    const base = { dstMac: p.dstMac, srcMac: p.srcMac, srcIp: p.srcIp, dstIp: p.dstIp, hopLimit: p.hopLimit };
    if (p.protocol === IPPROTO_UDP && p.upper.length >= 8 && p.upper.readUInt16BE(2) === 546) {
      try {
        this.got.push({ ...base, message: decodeDhcp6Message(p.upper.subarray(8)) });
      } catch {
        return;
      }
    } else if (p.protocol === IPPROTO_ICMPV6) {
      this.got.push({ ...base, icmp: p.upper });
    } else return;
    for (const w of this.waiters.splice(0)) w();
  }

  async sendFrame(frame: Buffer): Promise<void> {
    await this.socket.send(frame, ipv6Destination(this.ifindex, frame.subarray(0, 6)));
  }

  /** A client message as a complete frame (to ff02::1:2 from the link-local, unless told otherwise). */
  frame(
    type: number,
    options: Buffer[],
    o: { xid?: number; dstIp?: Buffer; srcMac?: Buffer; clientId?: Buffer | null } = {},
  ): { frame: Buffer; xid: number } {
    this.xid = (this.xid + 1) & 0xffffff;
    const xid = o.xid ?? this.xid;
    const withId = o.clientId === null ? options : [option(1, o.clientId ?? this.clientId), ...options];
    const payload = encodeDhcp6Message(type, xid, withId);
    const dstIp = o.dstIp ?? ALL_DHCP_AGENTS;
    const frame = buildIpv6Frame({
      srcMac: o.srcMac ?? this.mac,
      dstMac: multicastMac(dstIp),
      srcIp: linkLocalFromMac(o.srcMac ?? this.mac),
      dstIp,
      hopLimit: 1,
      protocol: IPPROTO_UDP,
      upper: udpDatagram(546, 547, payload),
    });
    return { frame, xid };
  }

  /** Sends a client message and waits for the reply with its transaction id. */
  async ask(
    type: number,
    options: Buffer[],
    o: Parameters<RawClient6["frame"]>[2] = {},
    timeoutMs = 1500,
  ): Promise<Received6 | undefined> {
    const { frame, xid } = this.frame(type, options, o);
    await this.sendFrame(frame);
    return this.waitFor((r) => r.message?.transactionId === xid, timeoutMs);
  }

  async waitFor(match: (r: Received6) => boolean, timeoutMs: number): Promise<Received6 | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.got.find(match);
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

  get received(): readonly Received6[] {
    return this.got;
  }

  close(): void {
    this.socket.close();
  }
}

export { IPPROTO_ICMPV6 };
