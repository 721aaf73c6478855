// The request engine: sequence numbers, acks, multipart dumps, batching, timeouts.
//
// Every request gets NLM_F_ACK (as iproute2 sends them) and a promise settled by the kernel's
// answer. Requests made while a send is in flight are coalesced into the next sendmsg(): a loop of
// 1000 `await`-free calls becomes a handful of system calls, and the kernel still answers each one
// separately, in order. Sends run on libuv's pool (the kernel does the work inside sendmsg()), so
// the event loop never waits for the kernel.
import * as C from "./codec/constants.js";
import { NetlinkDecodeError } from "./codec/decode-error.js";
import { encodeMessage, type Message, parseErrorMessage, parseMessages } from "./codec/message.js";
import {
  NetlinkDumpInterruptedError,
  NetlinkError,
  NetlinkNativeError,
  NetlinkTimeoutError,
  type RequestContext,
} from "./errors.js";
import { NetlinkSocket, type NetlinkSocketOptions, openNetlinkFd } from "./netlink-socket.js";
import { check, timeoutMs as timeoutSchema } from "./validate.js";

/** Largest single sendmsg(): below the 8 MiB send buffer, and small enough to interleave. */
const MAX_SEND_BYTES = 1 << 20;
const DUMP_RETRIES = 5;

interface Pending {
  context: RequestContext;
  dump: boolean;
  messages: Message[];
  interrupted: boolean;
  resolve(messages: Message[]): void;
  reject(error: Error): void;
  /** For streamed dumps: called per message as it arrives. */
  onMessage?: (m: Message) => void;
  /** When the request times out (performance.now() ms), if it has a deadline. */
  deadline?: number;
  timeoutMs?: number;
}

/** How often deadlines are checked: one timer per connection, not one per request. */
const SWEEP_MS = 250;
/** Callers admitted per event-loop turn (see admit()). */
const ADMIT_PER_TURN = 64;
const ADMITTED = Promise.resolve();
/** Received messages dispatched per event-loop turn (see drainInbox()). */
const DISPATCH_PER_TURN = 64;

export interface RequestOptions {
  /** Milliseconds before the request fails with NetlinkTimeoutError. Default 60 s. */
  timeoutMs?: number;
}

export interface ConnectionOptions extends NetlinkSocketOptions {
  timeoutMs?: number;
}

export class NetlinkConnection {
  private readonly socket: NetlinkSocket;
  private readonly pending = new Map<number, Pending>();
  /** Encoded requests waiting to be sent; `glued` keeps the next one in the same sendmsg(). */
  private readonly outbox: { seq: number; bytes: Buffer; glued?: boolean }[] = [];
  private sending = false;
  private seq: number;
  private closed = false;
  private dumpTail: Promise<unknown> = Promise.resolve();
  private sweep: NodeJS.Timeout | undefined;
  private admittedThisTurn = 0;
  private readonly admissionQueue: (() => void)[] = [];
  private turnScheduled = false;
  private readonly timeoutMs: number;
  /** Messages nobody asked for (multicast events), for subscribers. */
  onUnsolicited?: (m: Message) => void;
  /** ENOBUFS: the kernel dropped messages meant for this socket. */
  onOverrun?: () => void;

  /**
   * Opens a connection whose socket is made inside `options.netns` on libuv's pool (the
   * constructor does that on the calling thread). Prefer this one.
   */
  static async open(options: ConnectionOptions = {}): Promise<NetlinkConnection> {
    if (options.timeoutMs !== undefined) check(timeoutSchema, options.timeoutMs, "timeoutMs");
    if (options.fd !== undefined) return new NetlinkConnection(options);
    const fd = await openNetlinkFd(options);
    return new NetlinkConnection({ ...options, fd });
  }

  constructor(options: ConnectionOptions = {}) {
    if (options.timeoutMs !== undefined) check(timeoutSchema, options.timeoutMs, "timeoutMs");
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.seq = Math.floor(Math.random() * 0x7fffffff);
    this.socket = new NetlinkSocket((err, datagrams) => this.receive(err, datagrams), options);
    this.socket.raw.unref();
  }

  get portId(): number {
    return this.socket.portId;
  }

  get netlinkSocket(): NetlinkSocket {
    return this.socket;
  }

  /** Sends one request and resolves with the messages the kernel sent back before its ACK. */
  request(
    type: number,
    flags: number,
    body: Buffer,
    context: RequestContext,
    opts: RequestOptions = {},
  ): Promise<Message[]> {
    return this.enqueue(type, flags | C.NLM_F_REQUEST | C.NLM_F_ACK, body, context, false, opts);
  }

  /**
   * Sends several requests in ONE sendmsg(), in order, and returns one promise per request. The
   * kernel runs them one after the other, so a process that dies after the call still gets all
   * of them done (e.g. a link's create and the ifalias that marks it).
   */
  requestTogether(
    requests: readonly { type: number; flags: number; body: Buffer; context: RequestContext }[],
    opts: RequestOptions = {},
  ): Promise<Message[]>[] {
    const wasSending = this.sending;
    this.sending = true; // hold the flush until every request is queued
    const out = requests.map((r, i) =>
      this.enqueue(
        r.type,
        r.flags | C.NLM_F_REQUEST | C.NLM_F_ACK,
        r.body,
        r.context,
        false,
        opts,
        undefined,
        i < requests.length - 1,
      ),
    );
    this.sending = wasSending;
    if (!this.sending) this.flush();
    return out;
  }

  /** Runs a dump and resolves with every message, retrying when the kernel flags it interrupted. */
  async dumpAll(
    type: number,
    body: Buffer,
    context: RequestContext,
    opts: RequestOptions = {},
  ): Promise<Message[]> {
    let last: Message[] = [];
    for (let attempt = 1; attempt <= DUMP_RETRIES; attempt++) {
      const messages = await this.exclusiveDump(() =>
        this.enqueue(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, body, context, true, opts),
      );
      if (!messages.some((m) => m.flags & C.NLM_F_DUMP_INTR)) return messages;
      last = messages;
    }
    throw new NetlinkDumpInterruptedError(context, DUMP_RETRIES, last);
  }

  /**
   * Streams a dump's messages as they arrive. Ends with NetlinkDumpInterruptedError when the
   * kernel flagged the dump inconsistent (use dumpAll() to retry automatically).
   */
  async *dump(
    type: number,
    body: Buffer,
    context: RequestContext,
    opts: RequestOptions = {},
  ): AsyncGenerator<Message> {
    const queue: Message[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let failure: Error | undefined;
    let interrupted = false;
    const finished = this.exclusiveDump(() =>
      this.enqueue(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, body, context, true, opts, (m) => {
        if (m.flags & C.NLM_F_DUMP_INTR) interrupted = true;
        queue.push(m);
        wake?.();
      }),
    );
    finished.then(
      () => {
        done = true;
        wake?.();
      },
      (e: Error) => {
        failure = e;
        done = true;
        wake?.();
      },
    );
    const yielded: Message[] = [];
    for (;;) {
      while (queue.length > 0) {
        const m = queue.shift() as Message;
        yielded.push(m);
        yield m;
      }
      if (done) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
    if (failure) throw failure;
    if (interrupted) throw new NetlinkDumpInterruptedError(context, 1, yielded);
  }

  /**
   * Paces callers: at most ADMIT_PER_TURN operations do their synchronous work (validation,
   * encoding) per event-loop turn; the rest continue on later turns. A caller that starts a
   * thousand operations at once (Promise.all over a map) would otherwise hold the event loop for
   * all of that work in one go; paced, timers and I/O run between slices, and the kernel is
   * already busy with the first slice while the next is prepared.
   */
  admit(): Promise<void> {
    this.scheduleTurn();
    if (this.admittedThisTurn < ADMIT_PER_TURN) {
      this.admittedThisTurn++;
      return ADMITTED;
    }
    return new Promise<void>((resolve) => this.admissionQueue.push(resolve));
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      const next = this.admissionQueue.splice(0, ADMIT_PER_TURN);
      this.admittedThisTurn = next.length;
      for (const resolve of next) resolve();
      if (next.length > 0) this.scheduleTurn();
    });
  }

  /** Starts the deadline sweep while anything with a deadline is pending. */
  private armSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(
      () => {
        const now = performance.now();
        for (const [seq, p] of this.pending) {
          if (p.deadline !== undefined && now >= p.deadline) {
            this.settle(seq, new NetlinkTimeoutError(p.context, p.timeoutMs ?? 0));
          }
        }
        if (this.pending.size === 0 && this.sweep) {
          clearInterval(this.sweep);
          this.sweep = undefined;
        }
      },
      Math.min(SWEEP_MS, this.timeoutMs),
    );
    this.sweep.unref();
  }

  /**
   * The kernel runs one dump per socket at a time (a second one gets EBUSY), so dumps on this
   * connection take turns; plain requests still go out alongside.
   */
  private exclusiveDump<T>(run: () => Promise<T>): Promise<T> {
    const result = this.dumpTail.then(run, run);
    this.dumpTail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private enqueue(
    type: number,
    flags: number,
    body: Buffer,
    context: RequestContext,
    dump: boolean,
    opts: RequestOptions,
    onMessage?: (m: Message) => void,
    glued = false,
  ): Promise<Message[]> {
    if (this.closed) return Promise.reject(new NetlinkClosedError(context));
    if (opts.timeoutMs !== undefined) {
      try {
        check(timeoutSchema, opts.timeoutMs, "timeoutMs");
      } catch (e) {
        return Promise.reject(e);
      }
    }
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    const bytes = encodeMessage({ type, flags, seq, pid: 0 }, body);
    return new Promise<Message[]>((resolve, reject) => {
      const p: Pending = { context, dump, messages: [], interrupted: false, resolve, reject };
      if (onMessage) p.onMessage = onMessage;
      // Every request has a deadline (validated positive and finite: never silently none).
      const ms = opts.timeoutMs ?? this.timeoutMs;
      p.deadline = performance.now() + ms;
      p.timeoutMs = ms;
      this.armSweep();
      this.pending.set(seq, p);
      if (this.pending.size === 1) this.socket.raw.ref();
      this.outbox.push(glued ? { seq, bytes, glued } : { seq, bytes });
      if (!this.sending) this.flush();
    });
  }

  /** Sends everything queued, coalesced into as few sendmsg() calls as the size limit allows. */
  private flush(): void {
    if (this.outbox.length === 0 || this.closed) {
      this.sending = false;
      return;
    }
    this.sending = true;
    const batch: { seq: number; bytes: Buffer; glued?: boolean }[] = [];
    let size = 0;
    while (this.outbox.length > 0) {
      const next = this.outbox[0] as { seq: number; bytes: Buffer };
      const glued = batch.length > 0 && batch[batch.length - 1]?.glued === true;
      if (batch.length > 0 && !glued && size + next.bytes.length > MAX_SEND_BYTES) break;
      batch.push(next);
      size += next.bytes.length;
      this.outbox.shift();
    }
    const data =
      batch.length === 1
        ? (batch[0] as { bytes: Buffer }).bytes
        : Buffer.concat(
            batch.map((b) => b.bytes),
            size,
          );
    this.socket.send(data).then(
      () => this.flush(),
      (error: NodeJS.ErrnoException) => {
        for (const { seq } of batch) {
          const p = this.pending.get(seq);
          if (p) this.settle(seq, new NetlinkError(error.errno ? Math.abs(error.errno) : 5, p.context));
        }
        this.flush();
      },
    );
  }

  /**
   * Received datagrams not yet dispatched. A wake-up can bring hundreds of answers, and settling
   * each runs its caller's continuation (often the next request) in the same turn; dispatching
   * at most DISPATCH_PER_TURN per turn lets timers and I/O run between slices.
   */
  private readonly inbox: (Buffer | { overrun: true })[] = [];
  private draining = false;

  private receive(err: NodeJS.ErrnoException | null, datagrams: Buffer[]): void {
    for (const d of datagrams) this.inbox.push(d);
    // Answers may have been dropped: after what did arrive, fail everything pending rather than
    // hang, and let subscribers re-sync.
    if (err?.code === "ENOBUFS") this.inbox.push({ overrun: true });
    if (!this.draining) this.drainInbox();
  }

  private drainInbox(): void {
    this.draining = true;
    let dispatched = 0;
    while (this.inbox.length > 0 && dispatched < DISPATCH_PER_TURN && !this.closed) {
      const d = this.inbox.shift() as Buffer | { overrun: true };
      if (!Buffer.isBuffer(d)) {
        for (const [seq, p] of this.pending) this.settle(seq, new NetlinkError(105, p.context));
        this.onOverrun?.();
        continue;
      }
      let messages: Message[];
      try {
        messages = parseMessages(d);
      } catch (e) {
        if (e instanceof NetlinkDecodeError) continue; // a malformed datagram cannot be matched
        throw e;
      }
      for (const m of messages) this.dispatch(m);
      dispatched += messages.length;
    }
    if (this.inbox.length > 0 && !this.closed) setImmediate(() => this.drainInbox());
    else {
      this.draining = false;
      if (this.closed) this.inbox.length = 0;
    }
  }

  private dispatch(m: Message): void {
    const p = m.seq === 0 ? undefined : this.pending.get(m.seq);
    if (!p || (m.pid !== this.socket.portId && m.pid !== 0)) {
      this.onUnsolicited?.(m);
      return;
    }
    if (m.type === C.NLMSG_ERROR) {
      let e: ReturnType<typeof parseErrorMessage>;
      try {
        e = parseErrorMessage(m);
      } catch (error) {
        this.settle(m.seq, error as Error);
        return;
      }
      if (e.error === 0) this.settle(m.seq);
      else this.settle(m.seq, new NetlinkError(-e.error, p.context, e.extackMessage, e.extackOffset));
      return;
    }
    if (m.type === C.NLMSG_DONE) {
      // A dump's DONE may carry an error code (e.g. a filter the kernel refused).
      if (m.body.length >= 4) {
        const code = m.body.readInt32LE(0);
        if (code < 0) {
          this.settle(m.seq, new NetlinkError(-code, p.context));
          return;
        }
      }
      if (m.flags & C.NLM_F_DUMP_INTR) p.interrupted = true;
      this.settle(m.seq);
      return;
    }
    if (p.onMessage) p.onMessage(m);
    else p.messages.push(m);
  }

  private settle(seq: number, error?: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (this.pending.size === 0) this.socket.raw.unref();
    if (error) p.reject(error);
    else {
      if (p.interrupted && p.messages.length > 0) {
        const last = p.messages[p.messages.length - 1] as Message;
        last.flags |= C.NLM_F_DUMP_INTR;
      }
      p.resolve(p.messages);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    for (const [seq, p] of this.pending) this.settle(seq, new NetlinkClosedError(p.context));
    this.socket.close();
  }
}

/** A request made on, or still pending when, its connection was closed. */
export class NetlinkClosedError extends NetlinkNativeError {
  override readonly name = "NetlinkClosedError";
  constructor(readonly request: RequestContext) {
    super(`${request.op}: the netlink connection is closed`);
  }
}
