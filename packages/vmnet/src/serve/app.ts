// The HTTP routes (hono). Read-only: GET and HEAD only. Every query parameter is checked against
// the route's list; anything else is a 4xx, never a crash.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { VmnetError } from "../errors.js";
import { asset } from "./assets.js";
import { loopbackHost, tokenMatches, tokenOf } from "./security.js";
import type { ServeState } from "./state.js";

class BadRequest extends Error {}

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    typeof x === "bigint" ? Number(x) : x instanceof Map ? Object.fromEntries(x) : x,
  );

/** The query of `c`, refused if it has a key not in `allowed` or a key given twice. */
function query(c: Context, allowed: readonly string[]): Record<string, string> {
  // The raw query, not the framework's view of it (which drops empty keys).
  const raw = c.req.url.includes("?") ? c.req.url.slice(c.req.url.indexOf("?") + 1) : "";
  const params = new URLSearchParams(raw);
  const out: Record<string, string> = {};
  for (const k of new Set(params.keys())) {
    if (k !== "token" && !allowed.includes(k)) throw new BadRequest(`unknown query parameter "${k}"`);
    const values = params.getAll(k);
    if (values.length !== 1) throw new BadRequest(`query parameter "${k}" given ${values.length} times`);
    out[k] = values[0] as string;
  }
  if (raw !== "" && params.size === 0) throw new BadRequest("unreadable query string");
  return out;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function buildApp(state: ServeState): Hono {
  const app = new Hono();
  const { token, loopbackOnly, port } = state.access;

  app.use("*", async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return c.text("read-only: GET only\n", 405);
    if (loopbackOnly && token === undefined && !loopbackHost(c.req.header("host"), port()))
      return c.text("unexpected Host header\n", 421);
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
  });

  const authorized = (c: Context) =>
    tokenMatches(token, tokenOf(c.req.header("authorization"), c.req.query("token")));
  // With a token set, everything but the page's own static files needs it.
  const guard = async (c: Context, next: () => Promise<void>) => {
    if (token !== undefined && !authorized(c)) return c.text("token required\n", 401);
    await next();
  };
  app.use("/api/*", guard);
  app.use("/events", guard);
  app.use("/metrics", guard);

  for (const path of ["/", "/assets/:name", "/vendor/:name"]) {
    app.get(path, async (c) => {
      query(c, []);
      const a = await asset(c.req.path);
      if (!a) return c.text("not found\n", 404);
      c.header(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
      );
      c.header("Cache-Control", "no-cache");
      return c.body(new Uint8Array(a.body), 200, { "Content-Type": a.type });
    });
  }

  const api = (c: Context, data: unknown) =>
    c.body(json(data), 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
    });

  app.get("/api/topology", async (c) => {
    query(c, []);
    return api(c, await state.topologyNow());
  });
  app.get("/api/bridges", async (c) => {
    query(c, []);
    return api(c, (await state.topologyNow()).bridges);
  });
  app.get("/api/taps", async (c) => {
    const q = query(c, ["bridge"]);
    if (q.bridge !== undefined && !NAME.test(q.bridge)) throw new BadRequest("bridge: not a bridge name");
    const taps = await state.bridges.taps();
    return api(c, q.bridge === undefined ? taps : taps.filter((t) => t.bridge === q.bridge));
  });
  app.get("/api/bandwidth", async (c) => {
    query(c, []);
    return api(c, state.bandwidthView());
  });
  app.get("/api/qos", async (c) => {
    const q = query(c, ["bridge", "tap"]);
    if (!q.bridge || !NAME.test(q.bridge)) throw new BadRequest("bridge: required, a bridge name");
    if (!q.tap || !NAME.test(q.tap)) throw new BadRequest("tap: required, a tap name");
    const tap = (await state.topologyNow()).taps.find((t) => t.name === q.tap && t.bridge === q.bridge);
    if (!tap) return c.text("no such tap on that bridge\n", 404);
    return api(c, await (await state.bridges.existing(q.bridge)).getQos(q.tap));
  });
  app.get("/api/containers", async (c) => {
    query(c, []);
    return api(c, (await state.topologyNow()).containers);
  });
  app.get("/api/captures", async (c) => {
    query(c, []);
    return api(c, await state.captures.list());
  });
  app.get("/api/captures/:id/pcap", async (c) => {
    query(c, []);
    // Captures hold traffic: a download needs the token even on loopback.
    if (token === undefined) return c.text("pcap downloads need the server started with --token\n", 403);
    const id = c.req.param("id");
    if (!/^(c\d{1,9}|f-[A-Za-z0-9._-]{1,200})$/.test(id)) throw new BadRequest("id: not a capture id");
    const found = await state.captures.downloadable(id);
    if ("status" in found)
      return c.text(found.status === 409 ? "capture still running\n" : "no such capture\n", found.status);
    const st = await stat(found.file).catch(() => undefined);
    if (!st) return c.text("the capture file is gone\n", 404);
    const body = Readable.toWeb(createReadStream(found.file)) as ReadableStream;
    return c.body(body, 200, {
      "Content-Type": "application/vnd.tcpdump.pcap",
      "Content-Length": String(st.size),
      "Content-Disposition": `attachment; filename="${found.name}"`,
    });
  });

  app.get("/metrics", async (c) => {
    query(c, []);
    const text = await state.registry.metrics();
    return c.body(text, 200, { "Content-Type": state.registry.contentType });
  });

  app.get("/events", (c) => {
    query(c, []);
    return streamSSE(c, async (stream) => {
      const queue: { event: string; data: string }[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = state.subscribe((event, data) => {
        // A slow page gets the newest state, not a growing backlog.
        if (queue.length > 8) queue.splice(0, queue.length - 8);
        queue.push({ event, data });
        wake?.();
      });
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      try {
        while (open) {
          const next = queue.shift();
          if (next) {
            await stream.writeSSE(next);
            continue;
          }
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((e, c) => {
    if (e instanceof BadRequest || e instanceof URIError) return c.text(`bad request: ${e.message}\n`, 400);
    if (e instanceof VmnetError && /does not exist/.test(e.message)) return c.text(`${e.message}\n`, 404);
    state.log(`vmnet serve: ${c.req.method} ${c.req.path}: ${e instanceof Error ? e.message : String(e)}`);
    return c.text("internal error\n", 500);
  });
  return app;
}
