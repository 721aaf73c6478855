// A small, deliberately broken OVSDB server for the tests whose point is a hostile or buggy peer:
// malformed replies, connections accepted then dropped, notifications with null tables, replies
// that never come or trickle in a byte at a time. Each test scripts what the server answers.
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonStreamParser } from "../src/jsonrpc/stream-parser.js";

/** A schema document small enough to write by hand, valid enough for the client. */
export const TINY_SCHEMA = {
  name: "Open_vSwitch",
  version: "8.3.0",
  tables: {
    Open_vSwitch: { columns: { next_cfg: { type: "integer" }, cur_cfg: { type: "integer" } } },
    Bridge: { columns: { name: { type: "string" } } },
  },
};

export interface RpcRequest {
  id: unknown;
  method: string;
  params: unknown[];
}

/** Returns what to do with a request: a reply object to send, "close", or undefined (stay silent). */
export type Script = (request: RpcRequest, socket: Socket, connection: number) => unknown;

export class FakeOvsdb {
  /** Connections accepted so far (each counted once). */
  accepted = 0;
  readonly acceptedAt: number[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly dir: string,
    public script: Script,
  ) {}

  static async start(script: Script): Promise<FakeOvsdb> {
    const dir = await mkdtemp(join(tmpdir(), "vmnet-fake-ovsdb-"));
    let fake: FakeOvsdb | undefined;
    const server = createServer((socket) => fake?.onConnection(socket));
    fake = new FakeOvsdb(server, dir, script);
    await new Promise<void>((resolve) => server.listen(join(dir, "db.sock"), resolve));
    return fake;
  }

  get remote(): string {
    return `unix:${join(this.dir, "db.sock")}`;
  }

  /** Connections currently open on the server side. */
  get open(): number {
    return this.sockets.size;
  }

  /** Sends a message on every open connection. */
  broadcast(message: unknown): void {
    for (const socket of this.sockets) socket.write(JSON.stringify(message));
  }

  /** Drops every open connection. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private onConnection(socket: Socket): void {
    this.accepted += 1;
    this.acceptedAt.push(Date.now());
    const connection = this.accepted;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
    const parser = new JsonStreamParser();
    socket.on("data", (chunk) => {
      let messages: unknown[];
      try {
        messages = parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const message of messages) {
        const request = message as RpcRequest;
        if (typeof request.method !== "string" || request.id === null) continue;
        const answer = this.script(request, socket, connection);
        if (answer === "close") socket.destroy();
        else if (answer !== undefined && !socket.destroyed) socket.write(JSON.stringify(answer));
      }
    });
  }
}

/** A well-behaved answer for the handful of methods the client sends on connect. */
export function politeAnswer(request: RpcRequest): unknown {
  switch (request.method) {
    case "get_schema":
      return { id: request.id, result: TINY_SCHEMA, error: null };
    case "echo":
      return { id: request.id, result: request.params, error: null };
    case "monitor":
    case "monitor_cond":
      return { id: request.id, result: {}, error: null };
    case "transact":
      return { id: request.id, result: (request.params.slice(1) as unknown[]).map(() => ({})), error: null };
    default:
      return { id: request.id, result: {}, error: null };
  }
}

/** Number of open file descriptors of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Counts of the kinds of active libuv handles that would keep the process alive. */
export function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
