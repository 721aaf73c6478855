// The request engine: sequence numbers, acks, multipart dumps, batching, timeouts.
//
// Every request gets NLM_F_ACK (as iproute2 sends them) and a promise settled by the kernel's
// answer. Requests made while a send is in flight are coalesced into the next send: a loop of
// 1000 `await`-free calls becomes a handful of pool jobs, and the kernel still answers each one
// separately, in order. Sends run on libuv's pool (the kernel does the work inside sendmsg()), so
// the event loop never waits for the kernel.
import * as C from "./codec/constants.js";
import { type Message, NLMSG_HDRLEN, parseErrorMessage } from "./codec/message.js";
import { align4 } from "./codec/writer.js";
import {
  NetlinkDumpInterruptedError,
  NetlinkError,
  NetlinkNativeError,
  NetlinkTimeoutError,
  type RequestContext,
} from "./errors.js";
import { InFlightGate } from "./in-flight-gate.js";
import { enqueueMicrotask } from "./microtask.js";
import { NetlinkSocket, type NetlinkSocketOptions, openNetlinkFd } from "./netlink-socket.js";
import { TURN_BUDGET_MS } from "./turn-budget.js";
import { turnStart } from "./turn-clock.js";
import { TurnPacer } from "./turn-pacer.js";
import { check, timeoutMs as timeoutSchema } from "./validate.js";

/** Largest single sendmsg(): below the 8 MiB send buffer, and small enough to interleave. */
const MAX_SEND_BYTES = 1 << 20;
const DUMP_RETRIES = 5;

/**
 * One request, from the call until the kernel's answer: what goes on the wire (the header fields
 * and body; the header is written at send time, straight into the send buffer) and how it is
 * settled. The same object waits in the outbox and in `pending`: one object per request.
 */
interface Pending {
  seq: number;
  type: number;
  flags: number;
  /** Kept after the send only for dumps (sent again if the kernel answers EBUSY). */
  body: Buffer;
  /** The next request goes in the same sendmsg() as this one. */
  glued: boolean;
  context: RequestContext;
  dump: boolean;
  /** The replies before the ACK; made on the first reply (most requests only get an ACK). */
  messages: Message[] | undefined;
  interrupted: boolean;
  resolve(messages: Message[]): void;
  reject(error: Error): void;
  /** For streamed dumps: called per message as it arrives. */
  onMessage: ((m: Message) => void) | undefined;
  /** For streamed dumps: the DONE carried NLM_F_DUMP_INTR (no message is streamed for it). */
  onInterrupted: (() => void) | undefined;
  /** When the request times out (performance.now() ms), if it has a deadline. */
  deadline?: number;
  timeoutMs?: number;
}

/** How often deadlines are checked: one timer per connection, not one per request. */
const SWEEP_MS = 250;
/** Sends from this size on use (and keep) the connection's own send buffer (see flush()). */
const KEEP_FROM = 4096;
/** A send buffer grown past this for one large batch is let go after it (see flush()). */
const KEEP_SEND_BUFFER = 256 << 10;

const NO_BODY = Buffer.alloc(0);
/** A Pending's settling functions until its promise's executor has run (at once). */
const unsettled = (): void => undefined;
/** The default options, shared (not a fresh `{}` per request); never written to. */
const NO_OPTIONS: RequestOptions = Object.freeze({});

/** The kernel's answer to a dump request while another dump runs on the same socket. */
const EBUSY = 16;

/** One wake-up's datagrams and how far they have been dispatched. */
interface InboxBatch {
  data: Buffer;
  lengths: Uint32Array;
  /** The datagram being read, where it starts, and where its next message starts. */
  datagram: number;
  start: number;
  at: number;
}
/** Marks where the kernel reported dropped messages (ENOBUFS) in the inbox. */
const OVERRUN = Symbol("overrun");

/** Whether the datagram at `start` (`len` bytes) is an answer: the kernel sends each ACK or error alone. */
function isAnswer(data: Buffer, start: number, len: number): boolean {
  return len >= NLMSG_HDRLEN && data.readUInt16LE(start + 4) === C.NLMSG_ERROR;
}

/** The message at `at` as a Message (its body a view into `data`). */
function messageAt(data: Buffer, at: number, len: number): Message {
  return {
    type: data.readUInt16LE(at + 4),
    flags: data.readUInt16LE(at + 6),
    seq: data.readUInt32LE(at + 8),
    pid: data.readUInt32LE(at + 12),
    body: data.subarray(at + NLMSG_HDRLEN, at + len),
  };
}

/**
 * Requests of one connection in flight before admit() holds callers: queued, sent, or in the
 * kernel's hands. An answer counts once it is received, before it is dispatched: the kernel can
 * work on the next requests while the loop works through the answers (counted at dispatch, the
 * kernel sat idle while each window's answers were settled and the next callers admitted: 10,000
 * address and route changes took 10-20 % longer). Everything pending, answered or not, stays
 * under two windows.
 */
const IN_FLIGHT_WINDOW = 128;

/** Callers admitted per event-loop turn (see admit()). */
const ADMIT_PER_TURN = 64;
/**
 * One pacer for every connection of the process: the turn's budget is the event loop's, and a
 * hundred handles (a hundred pods set up at once) each admitting a budget's worth of callers in
 * the same turn would hold the loop for a hundred budgets.
 */
const pacer = new TurnPacer(ADMIT_PER_TURN);

/** Received messages dispatched per event-loop turn at most (see drainInbox()). */
const DISPATCH_PER_TURN = 64;
/** Messages dispatched between two looks at the clock (see drainInbox()). */
const DISPATCH_PER_SLICE = 4;

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
  /** Requests waiting to be sent, in order (also in `pending`). */
  private readonly outbox: Pending[] = [];
  /**
   * Where each sendmsg()'s bytes are assembled: one growable buffer per connection, reused for
   * every send. Only one send is in flight at a time (the next flush starts when it returns), and
   * the addon holds the buffer only for the duration of its send, so nothing is overwritten early.
   */
  private sendBuffer: Buffer | undefined;
  /** Each sendto()'s length in a send (see flush()): reused, the addon copies it at once. */
  private segments = new Uint32Array(16);
  private sending = false;
  /** A flush is queued as a microtask (see scheduleFlush). */
  private flushQueued = false;
  private seq: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Dumps the kernel refused with EBUSY while another of ours ran: sent again when one ends. */
  private parked: number[] = [];
  private sweep: NodeJS.Timeout | undefined;
  /** Dumps in flight: while there are any, the socket is read on libuv's pool (see trackDump). */
  private dumpsInFlight = 0;
  private readonly timeoutMs: number;
  /** Messages nobody asked for (multicast events), for subscribers. */
  onUnsolicited?: (m: Message) => void;
  /** ENOBUFS: the kernel dropped messages meant for this socket. */
  onOverrun?: () => void;
  /**
   * Opt-in (default off): while a batch of plain requests is inside sendmsg() on the pool, with
   * no dump in flight and no subscriber, the event loop stops watching the socket; the answers
   * wait in the receive buffer and are read together when the send returns. The loop thread is
   * then not woken once per answer while the kernel works through the batch (a thousand wake-ups
   * of the other CPU for a thousand qdisc grafts, each of which also makes that CPU need an
   * interrupt for the graft's RCU grace period). Answers arrive no later than the batch's end;
   * a batch is only sent this way when its answers surely fit in the receive buffer.
   */
  quietSends = false;
  /** The most requests one quiet send may carry (their answers fit in half the receive buffer). */
  private quietMax: number | undefined;

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
    this.socket = new NetlinkSocket(() => undefined, {
      ...options,
      onBatch: (err, data, lengths) => this.receive(err, data, lengths),
    });
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
    opts: RequestOptions = NO_OPTIONS,
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
    opts: RequestOptions = NO_OPTIONS,
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
    opts: RequestOptions = NO_OPTIONS,
  ): Promise<Message[]> {
    let last: Message[] = [];
    for (let attempt = 1; attempt <= DUMP_RETRIES; attempt++) {
      const messages = await this.enqueue(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, body, context, true, opts);
      if (!messages.some((m) => m.flags & C.NLM_F_DUMP_INTR)) return messages;
      last = messages;
    }
    throw new NetlinkDumpInterruptedError(context, DUMP_RETRIES, last);
  }

  /**
   * Runs a dump and decodes each message as it arrives (with the answers it came with, a slice per
   * turn), retrying when the kernel flags it interrupted. `decode` returns undefined to skip a
   * message. For large dumps this keeps the decoding off one long turn: a dumpAll() of 2000 links
   * followed by decoding them all at once held the event loop for 15-40 ms.
   */
  async dumpDecoded<T>(
    type: number,
    body: Buffer,
    context: RequestContext,
    decode: (m: Message) => T | undefined,
    opts: RequestOptions = NO_OPTIONS,
  ): Promise<T[]> {
    let last: T[] = [];
    for (let attempt = 1; attempt <= DUMP_RETRIES; attempt++) {
      const out: T[] = [];
      let interrupted = false;
      let failure: unknown;
      let failed = false;
      const stream = {
        onMessage: (m: Message) => {
          if (m.flags & C.NLM_F_DUMP_INTR) {
            interrupted = true;
            return; // retried: no need to decode the rest
          }
          if (interrupted || failed) return;
          // Runs inside the receive path: a decode error is kept for the caller, not thrown there.
          try {
            const v = decode(m);
            if (v !== undefined) out.push(v);
          } catch (e) {
            failed = true;
            failure = e;
          }
        },
        onInterrupted: () => {
          interrupted = true;
        },
      };
      await this.enqueue(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, body, context, true, opts, stream);
      if (failed) throw failure;
      if (!interrupted) return out;
      last = out; // what was decoded before the kernel flagged the dump
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
    opts: RequestOptions = NO_OPTIONS,
  ): AsyncGenerator<Message> {
    const queue: Message[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let failure: Error | undefined;
    let interrupted = false;
    const finished = this.enqueue(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, body, context, true, opts, (m) => {
      if (m.flags & C.NLM_F_DUMP_INTR) interrupted = true;
      queue.push(m);
      wake?.();
    });
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
   * Each link's ifindex, looked up by ioctl in this socket's netns on libuv's pool (see the
   * addon's linkIndexes): the index, 0 for no such link, -1 for a name too long for the ioctl.
   */
  async linkIndexes(refs: readonly (string | number)[], context: RequestContext): Promise<Int32Array> {
    if (this.closed) throw new NetlinkClosedError(context);
    try {
      return await this.socket.raw.linkIndexes(refs);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).errno;
      if (typeof errno === "number" && errno !== 0) throw new NetlinkError(Math.abs(errno), context);
      throw e;
    }
  }

  /**
   * Paces callers: at most ADMIT_PER_TURN operations do their synchronous work (validation,
   * encoding) per event-loop turn; the rest continue on later turns. A caller that starts a
   * thousand operations at once (Promise.all over a map) would otherwise hold the event loop for
   * all of that work in one go; paced, timers and I/O run between slices, and the kernel is
   * already busy with the first slice while the next is prepared. A caller whose turn comes
   * while IN_FLIGHT_WINDOW requests of this connection wait for the kernel is held back until
   * half of those are answered.
   */
  admit(): Promise<void> {
    return pacer.admit(this.gate.arriving);
  }

  /** Holds callers while IN_FLIGHT_WINDOW requests wait for the kernel (see in-flight-gate.ts). */
  private readonly gate = new InFlightGate(
    IN_FLIGHT_WINDOW,
    // Answers received but not yet dispatched count once there are a window's worth of them:
    // everything pending stays under two windows, however far the loop falls behind.
    () => Math.max(this.pending.size - this.answersWaiting, this.pending.size - IN_FLIGHT_WINDOW, 0),
    () => !this.closed,
    pacer,
    turnStart,
  );

  /** Starts the deadline sweep while anything with a deadline is pending. */
  private armSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(
      () => {
        const now = performance.now();
        // forEach, not for-of over entries: no [seq, p] pair per pending request every sweep.
        const expired: number[] = [];
        this.pending.forEach((p, seq) => {
          if (p.deadline !== undefined && now >= p.deadline) expired.push(seq);
        });
        for (const seq of expired) {
          const p = this.pending.get(seq);
          if (p) this.settle(seq, new NetlinkTimeoutError(p.context, p.timeoutMs ?? 0));
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
   * The kernel runs one dump per socket at a time and answers a dump request that comes while
   * another runs with EBUSY. Dumps are sent at once anyway: several made together go out in one
   * pool job, each read to its end before the next is sent (see flush()'s segments), so a pod's
   * links, addresses and routes come back in one trip to the pool. One the kernel still refuses
   * because ours was running (a large dump not read to its end in that job, or one sent while a
   * dump was in flight) is parked here and sent again when a dump of ours ends. EBUSY with no
   * other dump of ours under way is the kernel's real answer.
   */
  private parkBusyDump(seq: number): boolean {
    let other = false;
    this.pending.forEach((q, s) => {
      if (q.dump && s !== seq && !this.parked.includes(s)) other = true;
    });
    if (!other) return false;
    this.parked.push(seq);
    return true;
  }

  /** Sends the parked dumps again (under new sequence numbers), in the order they were made. */
  private resendParked(): void {
    const parked = this.parked;
    this.parked = [];
    for (const old of parked) {
      const p = this.pending.get(old);
      if (!p) continue; // settled meanwhile (timed out, closed)
      this.pending.delete(old);
      this.seq = (this.seq + 1) >>> 0 || 1;
      p.seq = this.seq;
      p.glued = false;
      this.pending.set(this.seq, p);
      this.outbox.push(p);
    }
    this.scheduleFlush();
  }

  /**
   * Flushes in a microtask: requests made in the same synchronous run (Promise.all over a few
   * calls) leave in one sendmsg(), and their answers come back in one trip to the pool.
   */
  private scheduleFlush(): void {
    if (this.sending || this.flushQueued) return;
    this.flushQueued = true;
    enqueueMicrotask(this.queuedFlush);
  }

  private readonly queuedFlush = (): void => {
    this.flushQueued = false;
    if (!this.sending) this.flush();
  };

  private enqueue(
    type: number,
    flags: number,
    body: Buffer,
    context: RequestContext,
    dump: boolean,
    opts: RequestOptions,
    onMessage?: ((m: Message) => void) | { onMessage(m: Message): void; onInterrupted(): void },
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
    // Every request has a deadline (validated positive and finite: never silently none).
    const ms = opts.timeoutMs ?? this.timeoutMs;
    const p: Pending = {
      seq,
      type,
      flags,
      body,
      glued,
      context,
      dump,
      messages: undefined,
      interrupted: false,
      resolve: unsettled,
      reject: unsettled,
      deadline: performance.now() + ms,
      timeoutMs: ms,
      // Every field set here, in one order: every request has the same hidden class.
      onMessage: typeof onMessage === "function" ? onMessage : onMessage?.onMessage,
      onInterrupted: typeof onMessage === "function" ? undefined : onMessage?.onInterrupted,
    };
    // The executor only keeps the settling functions (its closure holds `p` alone, not every
    // argument of this call).
    const promise = new Promise<Message[]>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    try {
      this.armSweep();
      if (dump) this.trackDump(1);
      this.pending.set(seq, p);
      if (this.pending.size === 1) this.socket.raw.ref();
      this.outbox.push(p);
      this.scheduleFlush();
    } catch (e) {
      // As when this ran inside the executor: a failure here rejects the request.
      p.reject(e as Error);
    }
    return promise;
  }

  /**
   * A dump's later chunks are built by the kernel inside our receives (netlink_recvmsg calls
   * netlink_dump), under locks that other work on the machine may hold: on the event loop a
   * 2000-link dump held it 20-90 ms. While a dump is in flight the socket is read on the pool;
   * answers to plain requests cost the kernel nothing to read and are read on the loop otherwise.
   */
  private trackDump(delta: 1 | -1): void {
    const before = this.dumpsInFlight;
    this.dumpsInFlight += delta;
    if (this.closed) return;
    if (before === 0 && this.dumpsInFlight === 1) this.socket.raw.receiveOnPool(true);
    else if (before === 1 && this.dumpsInFlight === 0) this.socket.raw.receiveOnPool(false);
  }

  /** Sends everything queued, coalesced into as few sendmsg() calls as the size limit allows. */
  private flush(): void {
    if (this.outbox.length === 0 || this.closed) {
      this.sending = false;
      return;
    }
    this.sending = true;
    // How many queued requests go in this sendmsg(), and their size with headers.
    let count = 0;
    let size = 0;
    while (count < this.outbox.length) {
      const next = this.outbox[count] as Pending;
      const bytes = NLMSG_HDRLEN + align4(next.body.length);
      const glued = count > 0 && (this.outbox[count - 1] as Pending).glued;
      if (count > 0 && !glued && size + bytes > MAX_SEND_BYTES) break;
      size += bytes;
      count++;
    }
    let buf = this.sendBuffer;
    if (!buf || buf.length < size) {
      if (size < KEEP_FROM) {
        // Small: a slice of Node's shared pool, not kept (a short-lived handle that sends a
        // request or two must not hold a buffer of its own).
        buf = Buffer.allocUnsafe(size);
      } else {
        buf = Buffer.allocUnsafe(Math.max(size, buf ? buf.length * 2 : 0));
        this.sendBuffer = buf;
      }
    }
    const batch = this.outbox.splice(0, count);
    // A dump's first chunk (all of a small dump) is queued by the time sendmsg() returns: read it
    // on the send's pool thread, not after a wake-up of the loop and a second trip to the pool.
    let readAfter = false;
    // One segment per request (glued requests together in one). A kernel built without
    // preemption (PREEMPT_NONE, common on servers) runs all of a sendto()'s requests before the
    // pool thread can give its CPU to an event loop woken there, so a batch of link creations in
    // one sendto() held the loop for milliseconds. The addon joins consecutive segments into one
    // sendto() only while their kernel time stays short (SendGrouped in native/socket.cc). Dumps:
    // each is read to its end after its own sendto() (the kernel refuses a dump while another
    // runs on the socket).
    let segments = this.segments;
    if (segments.length < count)
      segments = this.segments = new Uint32Array(Math.max(count, segments.length * 2));
    let segmentCount = 0;
    let segmentStart = 0;
    let offset = 0;
    // Indexed loops here: an unoptimized for-of over a batch made an iterator result per request.
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as Pending;
      if (r.dump) readAfter = true;
      offset += NLMSG_HDRLEN + align4(r.body.length);
      if (!r.glued || i === batch.length - 1) {
        segments[segmentCount++] = offset - segmentStart;
        segmentStart = offset;
      }
    }
    // One request alone gains nothing (its answer is the only wake-up either way).
    const quiet =
      this.quietSends &&
      count > 1 &&
      this.dumpsInFlight === 0 &&
      !this.onUnsolicited &&
      count <= this.quietLimit();
    if (quiet) this.socket.raw.stop();
    let at = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i] as Pending;
      buf.writeUInt32LE(NLMSG_HDRLEN + r.body.length, at);
      buf.writeUInt16LE(r.type, at + 4);
      buf.writeUInt16LE(r.flags, at + 6);
      buf.writeUInt32LE(r.seq, at + 8);
      buf.writeUInt32LE(0, at + 12);
      buf.set(r.body, at + NLMSG_HDRLEN);
      const end = at + NLMSG_HDRLEN + r.body.length;
      at += NLMSG_HDRLEN + align4(r.body.length);
      if (end < at) buf.fill(0, end, at); // the padding goes out zeroed, as encodeMessage's did
      // Sent: only a dump may need its body again (parkBusyDump); let the others' go.
      if (!r.dump) r.body = NO_BODY;
    }
    const sent = () => {
      if (quiet && !this.closed) this.socket.raw.start();
      // A buffer grown for one very large batch is not kept for the connection's whole life.
      if (this.sendBuffer && this.sendBuffer.length > KEEP_SEND_BUFFER) this.sendBuffer = undefined;
      this.flush();
    };
    this.socket
      .send(
        buf.subarray(0, size),
        readAfter,
        segmentCount > 1 ? segments.subarray(0, segmentCount) : undefined,
      )
      .then(sent, (error: NodeJS.ErrnoException & { bytesSent?: number }) => {
        // The requests in segments sent before the failed one reached the kernel: their answers
        // come as usual. The rest fail with the send's error.
        const reached = typeof error.bytesSent === "number" ? error.bytesSent : 0;
        let segment = 0;
        let segmentEnd = segments[0] as number;
        for (let i = 0; i < batch.length; i++) {
          const r = batch[i] as Pending;
          const inKernel = segmentEnd <= reached;
          if (!r.glued && segment + 1 < segmentCount) segmentEnd += segments[++segment] as number;
          if (inKernel) continue;
          // Still this request's (a parked dump re-sent meanwhile has a new number).
          if (this.pending.get(r.seq) === r)
            this.settle(r.seq, new NetlinkError(error.errno ? Math.abs(error.errno) : 5, r.context));
        }
        sent();
      });
  }

  /** How many requests a quiet send may carry: 16 KiB of receive buffer per answer, half of it. */
  private quietLimit(): number {
    if (this.quietMax === undefined) {
      let rcvbuf = 0;
      try {
        rcvbuf = this.socket.raw.getOption(C.SOL_SOCKET, C.SO_RCVBUF, 4).readInt32LE(0);
      } catch {
        rcvbuf = 0;
      }
      this.quietMax = Math.floor(rcvbuf / 2 / (16 << 10));
    }
    return this.quietMax;
  }

  /**
   * Received datagrams not yet dispatched: each wake-up's buffer with the datagram lengths and a
   * read position. A wake-up can bring hundreds of answers, and settling each runs its caller's
   * continuation (often the next request) in the same turn; dispatching at most
   * DISPATCH_PER_TURN per turn lets timers and I/O run between slices. Answers are read in place
   * (offsets into the buffer): an ACK costs no object at all, only replies with content become
   * Message objects.
   */
  private readonly inbox: (InboxBatch | typeof OVERRUN)[] = [];
  private draining = false;
  /**
   * Datagrams in the inbox that are answers (an ACK or an error: the kernel is done with their
   * request), counted as they arrive and again as they are dispatched, by the same test of the
   * same bytes (isAnswer), so the count is exact.
   */
  private answersWaiting = 0;

  private receive(err: NodeJS.ErrnoException | null, data: Buffer, lengths: Uint32Array): void {
    if (lengths.length > 0) {
      this.inbox.push({ data, lengths, datagram: 0, start: 0, at: 0 });
      let answers = 0;
      for (let i = 0, start = 0; i < lengths.length; start += lengths[i] as number, i++)
        if (isAnswer(data, start, lengths[i] as number)) answers++;
      if (answers > 0) {
        this.answersWaiting += answers;
        // Room in the window already: held callers need not wait for these to be dispatched.
        this.gate.answered();
      }
    }
    // Answers may have been dropped: after what did arrive, fail everything pending rather than
    // hang, and let subscribers re-sync.
    if (err?.code === "ENOBUFS") this.inbox.push(OVERRUN);
    if (!this.draining) this.drainInbox();
  }

  /**
   * Dispatches answers in slices. Settling an answer runs its caller's continuation (decoding a
   * reply, starting the next request) in the same turn, and what that costs varies, so after each
   * slice a microtask (queued behind the continuations the slice woke) reads the clock: the turn
   * goes on while it is under its time budget and DISPATCH_PER_TURN, the rest waits for the next
   * turn (setImmediate), after timers and I/O.
   */
  private drainInbox(dispatchedBefore = 0): void {
    this.draining = true;
    const started = turnStart();
    // Other connections spent this turn's budget already: wait for the next turn.
    if (dispatchedBefore === 0 && performance.now() - started >= TURN_BUDGET_MS && !this.closed) {
      setImmediate(this.drainNextTurn);
      return;
    }
    let dispatched = dispatchedBefore;
    const sliceEnd = Math.min(dispatched + DISPATCH_PER_SLICE, DISPATCH_PER_TURN);
    while (this.inbox.length > 0 && dispatched < sliceEnd && !this.closed) {
      const b = this.inbox[0] as InboxBatch | typeof OVERRUN;
      if (b === OVERRUN) {
        this.inbox.shift();
        for (const [seq, p] of this.pending) this.settle(seq, new NetlinkError(105, p.context));
        this.onOverrun?.();
        continue;
      }
      if (b.datagram >= b.lengths.length) {
        this.inbox.shift();
        continue;
      }
      const end = b.start + (b.lengths[b.datagram] as number);
      if (b.at + NLMSG_HDRLEN > end) {
        // This datagram is done (trailing bytes too few for a header are ignored).
        if (isAnswer(b.data, b.start, end - b.start)) this.answersWaiting--;
        b.datagram++;
        b.start = end;
        b.at = end;
        continue;
      }
      const len = b.data.readUInt32LE(b.at);
      if (len < NLMSG_HDRLEN || b.at + len > end) {
        // Malformed: the rest of this datagram cannot be matched to requests.
        b.at = end;
        continue;
      }
      const at = b.at;
      b.at += align4(len);
      this.dispatch(b.data, at, len);
      dispatched++;
    }
    if (this.inbox.length === 0 || this.closed) {
      this.draining = false;
      if (this.closed) this.dropInbox();
      return;
    }
    if (dispatched < DISPATCH_PER_TURN) {
      this.drainedThisTurn = dispatched;
      enqueueMicrotask(this.drainAfterSlice);
    } else setImmediate(this.drainNextTurn);
  }

  private dropInbox(): void {
    this.inbox.length = 0;
    this.answersWaiting = 0;
  }

  /** Answers dispatched this turn so far, for drainAfterSlice. */
  private drainedThisTurn = 0;
  private readonly drainNextTurn = (): void => this.drainInbox();
  /** After a slice's continuations ran: the next slice in this turn if it has time left. */
  private readonly drainAfterSlice = (): void => {
    if (this.closed) {
      this.draining = false;
      this.dropInbox();
    } else if (performance.now() - turnStart() < TURN_BUDGET_MS) this.drainInbox(this.drainedThisTurn);
    else setImmediate(this.drainNextTurn);
  };

  /** One message at `at` (`len` bytes) of a received buffer. */
  private dispatch(data: Buffer, at: number, len: number): void {
    const type = data.readUInt16LE(at + 4);
    const seq = data.readUInt32LE(at + 8);
    const pid = data.readUInt32LE(at + 12);
    const p = seq === 0 ? undefined : this.pending.get(seq);
    if (!p || (pid !== this.socket.portId && pid !== 0)) {
      this.onUnsolicited?.(messageAt(data, at, len));
      return;
    }
    if (type === C.NLMSG_ERROR) {
      // An ACK (error 0) settles without decoding anything else.
      if (len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN && data.readInt32LE(at + NLMSG_HDRLEN) === 0) {
        this.settle(seq);
        return;
      }
      let e: ReturnType<typeof parseErrorMessage>;
      try {
        e = parseErrorMessage(messageAt(data, at, len));
      } catch (error) {
        this.settle(seq, error as Error);
        return;
      }
      if (e.error === 0) this.settle(seq);
      else if (p.dump && -e.error === EBUSY && this.parkBusyDump(seq)) return;
      else this.settle(seq, new NetlinkError(-e.error, p.context, e.extackMessage, e.extackOffset));
      return;
    }
    if (type === C.NLMSG_DONE) {
      // A dump's DONE may carry an error code (e.g. a filter the kernel refused).
      if (len >= NLMSG_HDRLEN + 4) {
        const code = data.readInt32LE(at + NLMSG_HDRLEN);
        if (code < 0) {
          this.settle(seq, new NetlinkError(-code, p.context));
          return;
        }
      }
      if (data.readUInt16LE(at + 6) & C.NLM_F_DUMP_INTR) {
        p.interrupted = true;
        p.onInterrupted?.();
      }
      this.settle(seq);
      return;
    }
    const m = messageAt(data, at, len);
    if (p.onMessage) p.onMessage(m);
    else if (p.messages) p.messages.push(m);
    else p.messages = [m];
  }

  private settle(seq: number, error?: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (p.dump) {
      this.trackDump(-1);
      if (this.parked.length > 0) {
        const at = this.parked.indexOf(seq);
        if (at >= 0) this.parked.splice(at, 1);
        else if (!this.closed) this.resendParked();
      }
    }
    if (this.pending.size === 0) this.socket.raw.unref();
    this.gate.answered();
    if (error) p.reject(error);
    else {
      const messages = p.messages ?? [];
      if (p.interrupted && messages.length > 0) {
        const last = messages[messages.length - 1] as Message;
        last.flags |= C.NLM_F_DUMP_INTR;
      }
      p.resolve(messages);
    }
  }

  /**
   * Fails what is pending and closes the socket. The promise settles once its fd is closed: a
   * request's answer can arrive before the pool job that sent it has finished, and that job holds
   * the fd until then. Waiting is only for callers that count their fds.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    for (const [seq, p] of this.pending) this.settle(seq, new NetlinkClosedError(p.context));
    // Held callers go on, and their requests fail as made on a closed connection.
    this.gate.answered();
    this.closing = this.socket.close();
    return this.closing;
  }
}

/** A request made on, or still pending when, its connection was closed. */
export class NetlinkClosedError extends NetlinkNativeError {
  override readonly name = "NetlinkClosedError";
  constructor(readonly request: RequestContext) {
    super(`${request.op}: the netlink connection is closed`);
  }
}
