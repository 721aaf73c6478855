// Loads the C++ addon (prebuilt for this platform when shipped, else the local node-gyp build)
// and describes what it exports. Nothing else in the package touches the addon directly.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NetlinkNativeError } from "./codec/base-error.js";

export interface NativeDatagramSocket {
  readonly fd: number;
  bind(address: Buffer): void;
  connect(address: Buffer): void;
  localAddress(): Buffer;
  setOption(level: number, name: number, value: number | Buffer): void;
  getOption(level: number, name: number, length: number): Buffer;
  /** Attaches a classic BPF program (8-byte sock_filter instructions) with SO_ATTACH_FILTER. */
  attachFilter(program: Buffer): void;
  /**
   * With `readAfter`, on a socket read on the pool (receiveOnPool) and not being read there, what
   * the kernel queued during the send is read on the same pool thread and delivered right after;
   * `segments` (byte lengths) sends the data as that many sendto() calls (with `readAfter`, each
   * followed by a read). On a netlink socket without `readAfter`, consecutive segments share a
   * sendto() while the kernel's time for them stays short (a quarter of a millisecond, judged by
   * this socket's recent sends) and they fit the send buffer. A failed sendto() rejects with an
   * error whose `bytesSent` counts the bytes of the segments sent before it.
   */
  send(data: Buffer, dest?: Buffer | null, readAfter?: boolean, segments?: Uint32Array): Promise<number>;
  /** How many sendto() calls this socket has made (for diagnostics: how sends were grouped). */
  readonly sendCalls: number;
  start(): void;
  stop(): void;
  ref(): void;
  unref(): void;
  /**
   * Closes the fd now, or when the last pool job that uses it is done; the promise settles once it
   * is closed.
   */
  close(): Promise<void>;
  /** close() with the close(2) on libuv's pool (an AF_PACKET close waits for an RCU grace period). */
  closeAsync(): Promise<void>;
  /**
   * Reads wake-ups on libuv's pool instead of the event loop (netlink dumps: the kernel builds
   * each next chunk inside the receive). Not for a socket that reports sources.
   */
  receiveOnPool(on: boolean): void;
  /**
   * Each link's ifindex, looked up on libuv's pool by ioctl in the socket's netns: the index, 0
   * when there is no such link, -1 for a name too long for the ioctl (16 bytes or more).
   */
  linkIndexes(refs: readonly (string | number)[]): Promise<Int32Array>;
}

/**
 * One call per wake-up: the datagrams back to back in `data`, `lengths[i]` bytes each; with
 * `wantSources`, `sources[i]` is the sender's sockaddr.
 */
export type DatagramCallback = (
  error: NodeJS.ErrnoException | null,
  data: Buffer,
  lengths: Uint32Array,
  sources: Buffer[],
) => void;

export interface NativeAddon {
  netnsCreate(dir: string, name: string): Promise<string>;
  netnsDelete(path: string): Promise<void>;
  netnsIdentity(path: string): { dev: number; ino: number };
  openTap(options: {
    name?: string;
    netns?: string;
    tun?: boolean;
    vnetHdr?: boolean;
    queues?: number;
    persist?: boolean;
    owner?: number;
    group?: number;
  }): Promise<{ name: string; index: number; fds: number[] }>;
  setTapPersist(fd: number, persist: boolean): void;
  closeFd(fd: number): void;
  /** Closes the fds on libuv's pool (a TAP's last close waits for the kernel's unregister). */
  closeFds(fds: number[]): Promise<void>;
  /**
   * Nice steps a pool thread drops while it does kernel work for the addon (sendmsg, TAP and netns
   * work); 0 when not done (VMNET_POOL_NICE=0, or the process could not raise the thread back).
   */
  poolWorkNice(): number;
  /** socket() inside the netns at `netnsPath` ("" = the caller's), on libuv's pool; the fd. */
  openSocket(domain: number, type: number, protocol: number, netnsPath: string): Promise<number>;
  DatagramSocket: new (
    domain: number,
    type: number,
    protocol: number,
    /** A netns path to open the socket in (now, on this thread), or an fd from openSocket(). */
    netnsPathOrFd: string | number,
    onDatagrams: DatagramCallback,
    wantSources?: boolean,
  ) => NativeDatagramSocket;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

let cached: NativeAddon | undefined;

/**
 * The addon could not be loaded: no build for this platform, or a prebuild this system cannot
 * load (an older glibc, another Node ABI). The message carries the loader's own reason and how to
 * build from source.
 */
export class AddonLoadError extends NetlinkNativeError {
  override readonly name = "AddonLoadError";
  constructor(readonly reason: string) {
    super(
      `@vmnet/netlink-native: the native addon could not be loaded: ${reason}. ` +
        "Build it from source for this system with `npm rebuild @vmnet/netlink-native --build-from-source` " +
        "(needs g++, make and python3; installs that skipped install scripts, as pnpm does for " +
        "dependencies, need this too)",
    );
  }
}

/** The addon, loaded on first use so that importing the codec alone never needs it. */
export function native(): NativeAddon {
  if (!cached) {
    const load = require("node-gyp-build") as (dir: string) => NativeAddon;
    try {
      cached = load(packageRoot);
    } catch (e) {
      throw new AddonLoadError(e instanceof Error ? e.message : String(e));
    }
  }
  return cached;
}
