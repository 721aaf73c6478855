// Nft: one handle per network namespace on a NETLINK_NETFILTER socket. Changes go out as batches
// (one sendmsg, one kernel transaction: all or nothing); every request in a batch carries NLM_F_ACK
// so the promise settles on the kernel's own answer rather than on a quiet period, which is how
// nft itself waits. Reads are dumps of tables, chains and rules.
import * as C from "../codec/constants.js";
import { NetlinkDecodeError } from "../codec/decode-error.js";
import { type Message, parseErrorMessage, parseMessages } from "../codec/message.js";
import { NetlinkError, NetlinkTimeoutError, type RequestContext } from "../errors.js";
import { NetlinkSocket, openNetlinkFd } from "../netlink-socket.js";
import type { NetnsRef } from "../netns.js";
import { NETLINK_NETFILTER, type NftFamily } from "./constants.js";
import {
  decodeChain,
  decodeRule,
  decodeTable,
  dumpRequest,
  encodeBatch,
  type NftChain,
  type NftRequest,
  type NftRule,
  type NftTable,
  tableDelete,
} from "./messages.js";

export interface NftOptions {
  /** The namespace to act in (name under /run/netns, path, or pid). Default: the caller's. */
  netns?: NetnsRef;
  /** Per-batch/dump deadline in ms (default 30 000). */
  timeoutMs?: number;
}

interface Waiter {
  context: RequestContext;
  messages: Message[];
  /** Settles this seq; a batch's waiters share one outcome. */
  done(error: Error | undefined, messages: Message[]): void;
}

export class Nft {
  private readonly socket: NetlinkSocket;
  private readonly waiters = new Map<number, Waiter>();
  private seq = Math.floor(Math.random() * 0x3fffffff) + 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private dumpTail: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;

  private constructor(options: NftOptions, fd: number) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.socket = new NetlinkSocket((err, datagrams) => this.receive(err, datagrams), {
      protocol: NETLINK_NETFILTER,
      receiveBuffer: 4 << 20,
      fd,
    });
    this.socket.raw.unref();
  }

  /**
   * Opens a handle. The socket is opened inside the netns on libuv's pool (setns never runs on
   * the event loop). A netns that does not exist is a NetnsError.
   */
  static async open(options: NftOptions = {}): Promise<Nft> {
    const fd = await openNetlinkFd({
      protocol: NETLINK_NETFILTER,
      ...(options.netns !== undefined && { netns: options.netns }),
    });
    return new Nft(options, fd);
  }

  private nextSeqs(n: number): number {
    if (this.seq + n > 0x7fffffff) this.seq = 1;
    const first = this.seq;
    this.seq += n;
    return first;
  }

  private track(): void {
    if (this.waiters.size > 0) this.socket.raw.ref();
    else this.socket.raw.unref();
  }

  /**
   * Applies the requests as one transaction. Rejects with the kernel's first error (a
   * NetlinkError naming the request); the kernel has then applied none of the batch.
   */
  commit(requests: readonly NftRequest[]): Promise<void> {
    if (requests.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("nft commit: the handle is closed"));
    const first = this.nextSeqs(requests.length + 2);
    const bytes = encodeBatch(requests, first, true);
    return new Promise<void>((resolve, reject) => {
      const seqs = requests.map((_, i) => first + 1 + i);
      let left = seqs.length;
      let settled = false;
      const timer = setTimeout(
        () => finish(new NetlinkTimeoutError({ op: "nft batch" }, this.timeoutMs)),
        this.timeoutMs,
      );
      timer.unref();
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiters.delete(first);
        for (const s of seqs) this.waiters.delete(s);
        this.track();
        if (error) reject(error);
        else resolve();
      };
      // The batch-begin message gets an answer only when the whole batch is refused (no such
      // subsystem, a failed commit): then it is the batch's error.
      this.waiters.set(first, {
        context: { op: "nft batch" },
        messages: [],
        done: (error) => finish(error ?? undefined),
      });
      requests.forEach((r, i) => {
        this.waiters.set(first + 1 + i, {
          context: { op: r.op, object: r.object },
          messages: [],
          done: (error) => {
            if (error) finish(error);
            else if (--left === 0) finish();
          },
        });
      });
      this.track();
      this.socket
        .send(bytes)
        .catch((e: NodeJS.ErrnoException) =>
          finish(new NetlinkError(e.errno ? Math.abs(e.errno) : 5, { op: "nft batch" })),
        );
    });
  }

  private dump(type: number, body: Buffer, context: RequestContext): Promise<Message[]> {
    const run = () =>
      new Promise<Message[]>((resolve, reject) => {
        if (this.closed) {
          reject(new Error(`${context.op}: the handle is closed`));
          return;
        }
        const seq = this.nextSeqs(1);
        const timer = setTimeout(() => {
          this.waiters.delete(seq);
          this.track();
          reject(new NetlinkTimeoutError(context, this.timeoutMs));
        }, this.timeoutMs);
        timer.unref();
        this.waiters.set(seq, {
          context,
          messages: [],
          done: (error, messages) => {
            clearTimeout(timer);
            this.waiters.delete(seq);
            this.track();
            if (error) reject(error);
            else resolve(messages);
          },
        });
        this.track();
        const header = Buffer.alloc(16);
        header.writeUInt32LE(16 + body.length, 0);
        header.writeUInt16LE(type, 4);
        header.writeUInt16LE(C.NLM_F_REQUEST | C.NLM_F_DUMP, 6);
        header.writeUInt32LE(seq, 8);
        this.socket.send(Buffer.concat([header, body])).catch((e: NodeJS.ErrnoException) => {
          this.waiters.get(seq)?.done(new NetlinkError(e.errno ? Math.abs(e.errno) : 5, context), []);
        });
      });
    // One dump per socket at a time (the kernel answers a second one with EBUSY).
    const result = this.dumpTail.then(run, run);
    this.dumpTail = result.catch(() => undefined);
    return result;
  }

  private receive(err: NodeJS.ErrnoException | null, datagrams: Buffer[]): void {
    for (const d of datagrams) {
      let messages: Message[];
      try {
        messages = parseMessages(d);
      } catch (e) {
        if (e instanceof NetlinkDecodeError) continue;
        throw e;
      }
      for (const m of messages) {
        const w = this.waiters.get(m.seq);
        if (!w) continue;
        if (m.type === C.NLMSG_ERROR) {
          const e = parseErrorMessage(m);
          w.done(
            e.error === 0
              ? undefined
              : new NetlinkError(-e.error, w.context, e.extackMessage, e.extackOffset),
            w.messages,
          );
        } else if (m.type === C.NLMSG_DONE) {
          w.done(undefined, w.messages);
        } else {
          w.messages.push(m);
        }
      }
    }
    if (err?.code === "ENOBUFS") {
      for (const w of [...this.waiters.values()]) w.done(new NetlinkError(105, w.context), []);
    }
  }

  /** Every table (of one family, or of all). */
  async tables(family?: NftFamily): Promise<NftTable[]> {
    const req = dumpRequest("tables", family);
    const msgs = await this.dump(req.type, req.body, { op: "table list" });
    return msgs.map((m) => decodeTable(m.body)).filter((t): t is NftTable => t !== undefined);
  }

  async chains(family?: NftFamily): Promise<NftChain[]> {
    const req = dumpRequest("chains", family);
    const msgs = await this.dump(req.type, req.body, { op: "chain list" });
    return msgs.map((m) => decodeChain(m.body)).filter((c): c is NftChain => c !== undefined);
  }

  async rules(family?: NftFamily): Promise<NftRule[]> {
    const req = dumpRequest("rules", family);
    const msgs = await this.dump(req.type, req.body, { op: "rule list" });
    return msgs.map((m) => decodeRule(m.body)).filter((r): r is NftRule => r !== undefined);
  }

  /** Deletes a table with everything in it; false when there was no such table. */
  async deleteTable(family: NftFamily, name: string): Promise<boolean> {
    try {
      await this.commit([tableDelete(family, name)]);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENOENT") return false;
      throw e;
    }
  }

  /** Closes the handle; the promise settles once its socket's fd is closed (no need to wait). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const w of [...this.waiters.values()])
      w.done(new Error(`${w.context.op}: the handle was closed`), []);
    this.closing = this.socket.close();
    return this.closing;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
