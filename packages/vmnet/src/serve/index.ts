// vmnet serve: one read-only page (topology graph, live per-tap bandwidth, captures), a JSON API
// mirroring the CLI's --json output, and /metrics. startServe is what the CLI wraps.
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { z } from "zod";
import { type BridgeCapture, Bridges } from "../bridges/index.js";
import { parseInput } from "../bridges/input.js";
import { VmnetInputError } from "../errors.js";
import { DEFAULT_STATE_DIR } from "../plan/journal.js";
import { buildApp } from "./app.js";
import { CaptureBook } from "./captures.js";
import { DEFAULT_LISTEN, isLoopback, type ListenAddress, parseListen } from "./listen.js";
import { LiveSampler } from "./live-sampler.js";
import { buildMetrics } from "./metrics.js";
import { type OvsdbWatch, watchOvsdb } from "./ovsdb-watch.js";
import { LiveState } from "./state.js";
import type { Topology } from "./topology.js";

const serveOptions = z
  .object({
    /** "host:port" (default 127.0.0.1:8080; port 0 picks a free one). */
    listen: z.string().min(1).default(DEFAULT_LISTEN),
    /** Needed for any non-loopback address, and for pcap downloads always. */
    token: z.string().min(16, "use at least 16 characters").max(512).optional(),
    /** An open Bridges to read from (left open at close); otherwise one is opened from db/netns/owner. */
    bridges: z.custom<Bridges>((v) => v instanceof Bridges, "must be a Bridges").optional(),
    db: z.string().min(1).optional(),
    netns: z.string().min(1).optional(),
    owner: z.string().min(1).optional(),
    /** Milliseconds between link-counter samples (pushes to the page); at least 1000. */
    intervalMs: z.number().int().min(1000).max(60000).default(1000),
    /**
     * Milliseconds between full topology reads on a timer (for QoS, which lives in tc, not OVSDB).
     * Changes in OVSDB (an OVSDB monitor) and links that come or go (the sampler's dump) trigger a
     * read at once.
     */
    topologyIntervalMs: z.number().int().min(200).max(600000).default(10000),
    /** Where container-side network journals are (default /run/vmnet); false: do not look. */
    stateDir: z.union([z.string().min(1), z.literal(false)]).default(DEFAULT_STATE_DIR),
    /** pcap/pcapng files here are listed and (with the token) downloadable. */
    pcapDir: z.string().min(1).optional(),
    log: z.custom<(line: string) => void>((v) => typeof v === "function").optional(),
  })
  .strict();
export type ServeOptions = z.input<typeof serveOptions>;

export interface ServeHandle {
  /** The page's address (with ?token= when a token is set). */
  url: string;
  address: ListenAddress;
  /**
   * Lists a capture of ANOTHER Bridges in this process with its counters (the served Bridges'
   * own captures are listed without this, from `Bridges.captures()`).
   */
  addCapture(capture: BridgeCapture): string;
  /** Reads the topology now (and pushes it to pages when it changed). */
  refresh(): Promise<Topology>;
  /** Open event streams, samples taken. */
  stats(): { subscribers: number; samples: number; topologyVersion: number; topologyReads: number };
  close(): Promise<void>;
}

export async function startServe(input: ServeOptions = {}): Promise<ServeHandle> {
  const o = parseInput(serveOptions, input, "serve");
  const address = parseListen(o.listen);
  const loopbackOnly = isLoopback(address.host);
  if (!loopbackOnly && o.token === undefined)
    throw new VmnetInputError(
      "token",
      `listening on ${address.host} (not loopback) needs a token: the page shows the lab's traffic`,
    );
  const log = o.log ?? ((line: string) => console.error(line));
  const ownsBridges = o.bridges === undefined;
  const bridges =
    o.bridges ??
    (await Bridges.open({
      ...(o.db ? { db: o.db } : {}),
      ...(o.netns ? { netns: o.netns } : {}),
      ...(o.owner ? { owner: o.owner } : {}),
    }));
  let reconnects = 0;
  const onReconnect = () => {
    reconnects++;
  };
  bridges.ctx.client.on("reconnect", onReconnect);
  const sampler = new LiveSampler(bridges.ctx.rtnl, o.intervalMs);
  const live = new LiveState(bridges, sampler, o.stateDir === false ? undefined : o.stateDir, log);
  const captures = new CaptureBook(o.pcapDir, () => bridges.captures());
  const registry = buildMetrics({
    sampler,
    topology: () => live.topology,
    ovsdbReconnects: () => reconnects,
  });
  const server = createAdaptorServer({
    fetch: buildApp({
      bridges,
      captures,
      registry,
      access: { token: o.token, loopbackOnly, port: () => (server.address() as AddressInfo).port },
      log,
      topologyNow: async () => live.topology ?? (await live.refresh()),
      bandwidthView: () => live.bandwidth(),
      subscribe: (l) => live.subscribe(l),
    }).fetch,
  });
  let topologyTimer: NodeJS.Timeout | undefined;
  let watch: OvsdbWatch | undefined;
  const stopAll = async () => {
    if (topologyTimer) clearInterval(topologyTimer);
    await watch?.cancel();
    await sampler.stop();
    bridges.ctx.client.off("reconnect", onReconnect);
    if (ownsBridges) await bridges.close();
  };
  try {
    await live.refresh().catch(() => {});
    watch = await watchOvsdb(bridges.ctx.client, () => void live.refresh().catch(() => {})).catch(
      (e: unknown) => {
        log(`vmnet serve: no OVSDB monitor (${e instanceof Error ? e.message : String(e)}); polling only`);
        return undefined;
      },
    );
    sampler.start();
    topologyTimer = setInterval(() => void live.refresh().catch(() => {}), o.topologyIntervalMs);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await stopAll();
    throw e;
  }
  const bound = server.address() as AddressInfo;
  const actual = { host: address.host, port: bound.port };
  const hostPart = actual.host.includes(":") ? `[${actual.host}]` : actual.host;
  const url = `http://${hostPart}:${actual.port}/${o.token ? `?token=${encodeURIComponent(o.token)}` : ""}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    address: actual,
    addCapture: (c) => captures.add(c),
    refresh: () => live.refresh(),
    stats: () => ({
      subscribers: live.subscribers,
      samples: sampler.count,
      topologyVersion: live.version,
      topologyReads: live.reads,
    }),
    close() {
      closing ??= (async () => {
        // Event streams never end by themselves: close their sockets, then the listener.
        const s = server as unknown as { closeAllConnections?: () => void };
        const closed = new Promise<void>((r) => server.close(() => r()));
        s.closeAllConnections?.();
        await closed;
        await stopAll();
      })();
      return closing;
    },
  };
}

export type { CaptureView } from "./captures.js";
export type { ContainerNetworkView } from "./containers.js";
export { DEFAULT_LISTEN, isLoopback, type ListenAddress, parseListen } from "./listen.js";
export type { LiveSample, TapRate } from "./live-sampler.js";
export type { QosSummary, Topology, TopologyTap } from "./topology.js";
