// A netlink socket opened in a given netns, configured for the request engine: extended acks,
// strict dump checking, capped acks and a receive buffer large enough for a batch's answers.
import * as C from "./codec/constants.js";
import { fromNative } from "./errors.js";
import { type NativeDatagramSocket, native } from "./native.js";
import { type NetnsRef, netnsPath } from "./netns.js";

export type DatagramHandler = (error: NodeJS.ErrnoException | null, datagrams: Buffer[]) => void;
/**
 * One wake-up's datagrams as the addon hands them over: back to back in `data`, `lengths[i]`
 * bytes each. No Buffer per datagram: a reader that walks them with offsets allocates nothing.
 */
export type DatagramBatchHandler = (
  error: NodeJS.ErrnoException | null,
  data: Buffer,
  lengths: Uint32Array,
) => void;

/** Splits one wake-up's buffer into its datagrams (views, no copies). */
export function splitDatagrams(data: Buffer, lengths: Uint32Array): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const len of lengths) {
    out.push(data.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** sockaddr_nl: family, pad, port id, multicast groups bitmask. */
export function sockaddrNl(pid = 0, groups = 0): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16LE(C.AF_NETLINK, 0);
  b.writeUInt32LE(pid, 4);
  b.writeUInt32LE(groups, 8);
  return b;
}

export interface NetlinkSocketOptions {
  protocol?: number;
  netns?: NetnsRef;
  /** Receive buffer in bytes (forced past rmem_max where we may). Default 32 MiB. */
  receiveBuffer?: number;
  /** A socket already opened by openNetlinkFd() (in the netns): taken over, not opened here. */
  fd?: number;
  /** Receive each wake-up's datagrams as one buffer plus lengths (the constructor's handler is then unused). */
  onBatch?: DatagramBatchHandler;
}

/**
 * Opens a netlink socket inside `netns` on libuv's pool (entering a netns never happens on the
 * event loop) and returns its fd for NetlinkSocket's `fd` option. A missing or unusable netns is
 * a NetnsError.
 */
export async function openNetlinkFd(options: { protocol?: number; netns?: NetnsRef } = {}): Promise<number> {
  const path = options.netns === undefined ? "" : netnsPath(options.netns);
  try {
    return await native().openSocket(C.AF_NETLINK, C.SOCK_RAW, options.protocol ?? C.NETLINK_ROUTE, path);
  } catch (e) {
    throw fromNative(e, "open netlink socket", path);
  }
}

export class NetlinkSocket {
  readonly raw: NativeDatagramSocket;
  /** The port id the kernel assigned (nlmsg_pid of our messages). */
  readonly portId: number;

  constructor(onDatagrams: DatagramHandler, options: NetlinkSocketOptions = {}) {
    const path = options.netns === undefined ? "" : netnsPath(options.netns);
    const onBatch = options.onBatch;
    try {
      this.raw = new (native().DatagramSocket)(
        C.AF_NETLINK,
        C.SOCK_RAW,
        options.protocol ?? C.NETLINK_ROUTE,
        options.fd ?? path,
        onBatch ?? ((err, data, lengths) => onDatagrams(err, splitDatagrams(data, lengths))),
      );
    } catch (e) {
      throw fromNative(e, "open netlink socket", path);
    }
    try {
      const size = options.receiveBuffer ?? 32 << 20;
      try {
        this.raw.setOption(C.SOL_SOCKET, C.SO_RCVBUFFORCE, size);
      } catch {
        this.raw.setOption(C.SOL_SOCKET, C.SO_RCVBUF, size);
      }
      try {
        this.raw.setOption(C.SOL_SOCKET, C.SO_SNDBUFFORCE, 8 << 20);
      } catch {
        this.raw.setOption(C.SOL_SOCKET, C.SO_SNDBUF, 8 << 20);
      }
      this.raw.setOption(C.SOL_NETLINK, C.NETLINK_EXT_ACK, 1);
      this.raw.setOption(C.SOL_NETLINK, C.NETLINK_CAP_ACK, 1);
      this.raw.bind(sockaddrNl());
      this.portId = this.raw.localAddress().readUInt32LE(4);
      this.raw.start();
    } catch (error) {
      this.raw.close();
      throw fromNative(error, "configure netlink socket");
    }
  }

  /** Strict checking makes the kernel honour dump filters (e.g. one link's addresses). */
  enableStrictCheck(): boolean {
    try {
      this.raw.setOption(C.SOL_NETLINK, C.NETLINK_GET_STRICT_CHK, 1);
      return true;
    } catch {
      return false;
    }
  }

  joinGroup(group: number): void {
    this.raw.setOption(C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, group);
  }

  /**
   * `readAfter` and `segments`: see the addon's send (a dump's first answers read by the send's
   * thread; the data sent as one sendto() per segment, in the same pool job). A failed send
   * rejects with an error whose `bytesSent` counts the segments' bytes sent before it.
   */
  send(data: Buffer, readAfter = false, segments?: Uint32Array): Promise<number> {
    if (segments) return this.raw.send(data, null, readAfter, segments);
    return readAfter ? this.raw.send(data, null, true) : this.raw.send(data);
  }

  /** Settles once the fd is closed (a send still finishing on the pool holds it a moment). */
  close(): Promise<void> {
    return this.raw.close();
  }
}
