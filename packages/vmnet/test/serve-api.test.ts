// vmnet serve's JSON API, /metrics and its security rules, against a real OVS sandbox lab with
// traffic: counters checked against `ip -s -j link`, captures downloaded, fuzzed requests refused.

import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createNetns, type TestNetns } from "@vmnet/harness";
import fc from "fast-check";
// @ts-expect-error: the parser ships no types
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main } from "../src/cli/main.js";
import { VmnetInputError } from "../src/errors.js";
import type { Bridge } from "../src/index.js";
import { type ServeHandle, startServe } from "../src/serve/index.js";
import { readTopology, type Topology } from "../src/serve/topology.js";
import { ping, type SwitchEnv, startSwitch } from "./support/bridges-env.js";

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value: string }[];
}

const TOKEN = "serve-test-token-0123456789";

/** One raw HTTP/1.1 request (any bytes in the request line); the status code. */
/** The path a request target names once its dot segments are resolved, as a URL parser does. */
function resolvedPath(target: string): string {
  try {
    return new URL(target, "http://vmnet.test").pathname;
  } catch {
    return target;
  }
}

function rawStatus(port: number, target: string, host = `127.0.0.1:${port}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) {
        resolve(Number(m[1]));
        s.destroy();
      }
    });
    s.on("error", reject);
    s.on("close", () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0)));
    s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, "latin1");
  });
}

describe("vmnet serve API", () => {
  let env: SwitchEnv;
  let br: Bridge;
  let open: ServeHandle;
  let guarded: ServeHandle;
  let dir: string;
  const vms: TestNetns[] = [];
  const taps: string[] = [];
  const traffic: { kill(): void }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vmnet-serve-api-"));
    env = await startSwitch();
    br = await env.bridges.get("labm");
    for (const [i, vlan] of [10, 10, 20].entries()) {
      const ns = await createNetns("sap");
      vms.push(ns);
      taps.push(await br.createContainerTap({ netns: ns.name, vlan, address: `10.8.0.${i + 1}/24` }));
    }
    await br.updateQos(taps[2] as string, { rate: "8mbit" });
    expect(await ping(vms[0] as TestNetns, "10.8.0.2")).toBe(true);
    traffic.push(
      (vms[0] as TestNetns).exec("ping", ["-i", "0.05", "-s", "800", "-w", "90", "10.8.0.2"], {
        reject: false,
      }),
    );
    open = await startServe({ bridges: env.bridges, listen: "127.0.0.1:0", stateDir: false, log: () => {} });
    guarded = await startServe({
      bridges: env.bridges,
      listen: "127.0.0.1:0",
      token: TOKEN,
      stateDir: false,
      pcapDir: dir,
      log: () => {},
    });
  }, 60_000);

  afterAll(async () => {
    for (const t of traffic) t.kill();
    await open?.close();
    await guarded?.close();
    await env?.stop();
    for (const ns of vms) await ns.remove().catch(() => {});
  });

  const base = (s: ServeHandle) => `http://127.0.0.1:${s.address.port}`;

  test("/metrics parses as Prometheus text; tap counters match ip -s -j link within one sample", async () => {
    await new Promise((r) => setTimeout(r, 2500));
    const before = await env.ns.ipJson(["-s", "link", "show"]);
    await new Promise((r) => setTimeout(r, 1200));
    const res = await fetch(`${base(open)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    const after = await env.ns.ipJson(["-s", "link", "show"]);
    const byName = (list: any[]) => new Map(list.map((l) => [l.ifname as string, l]));
    const [b, a] = [byName(before), byName(after)];
    const family = (name: string) => families.find((f) => f.name === name) as Family;
    const checks: [string, (l: any) => number][] = [
      ["vmnet_tap_receive_bytes_total", (l) => l.stats64.rx.bytes],
      ["vmnet_tap_transmit_bytes_total", (l) => l.stats64.tx.bytes],
      ["vmnet_tap_receive_packets_total", (l) => l.stats64.rx.packets],
      ["vmnet_tap_transmit_packets_total", (l) => l.stats64.tx.packets],
      ["vmnet_tap_receive_drops_total", (l) => l.stats64.rx.dropped],
      ["vmnet_tap_transmit_drops_total", (l) => l.stats64.tx.dropped],
      ["vmnet_tap_receive_errors_total", (l) => l.stats64.rx.errors],
      ["vmnet_tap_transmit_errors_total", (l) => l.stats64.tx.errors],
    ];
    for (const [name, pick] of checks) {
      const f = family(name);
      expect(f?.type, name).toBe("COUNTER");
      expect(f.metrics.map((m) => m.labels?.tap).sort()).toEqual([...taps].sort());
      for (const m of f.metrics) {
        const tap = m.labels?.tap as string;
        const v = Number(m.value);
        // The sample the scrape shows was taken after `before` and before `after`.
        expect(v, `${name} ${tap}`).toBeGreaterThanOrEqual(pick(b.get(tap)));
        expect(v, `${name} ${tap}`).toBeLessThanOrEqual(pick(a.get(tap)));
        expect(m.labels).toMatchObject({ bridge: "labm", vlan: tap === taps[2] ? "20" : "10" });
      }
    }
    // The busy tap really counted traffic, and the QoS rate is exported (8 mbit = 1e6 bytes/s).
    const rx = family("vmnet_tap_receive_bytes_total").metrics.find((m) => m.labels?.tap === taps[0]);
    expect(Number(rx?.value)).toBeGreaterThan(10_000);
    const rate = family("vmnet_tap_qos_rate_bytes_per_second").metrics;
    expect(rate).toEqual([{ labels: { bridge: "labm", tap: taps[2], vlan: "20" }, value: "1000000" }]);
    expect(family("vmnet_ovsdb_reconnects_total").metrics[0]?.value).toBe("0");
    expect(Number(family("vmnet_serve_samples_total").metrics[0]?.value)).toBeGreaterThan(2);
  }, 30_000);

  test("the JSON API mirrors the CLI's --json output", async () => {
    const get = async (path: string) => (await fetch(`${base(open)}${path}`)).json();
    const lines: string[] = [];
    const cli = async (args: string[]) => {
      lines.length = 0;
      const code = await main(
        ["--db", env.ovs.remote, "--netns", env.ns.name, "--owner", env.owner, "--json", ...args],
        (l) => lines.push(l),
        () => {},
      );
      expect(code).toBe(0);
      return JSON.parse(lines.join("\n"));
    };
    expect(await get("/api/bridges")).toEqual(await cli(["bridge", "list"]));
    const apiTaps = (await get("/api/taps")) as { name: string; vlan: number; counters: unknown }[];
    const cliTaps = (await cli(["tap", "list"])) as typeof apiTaps;
    const strip = (l: typeof apiTaps) => l.map(({ counters: _c, ...rest }) => rest);
    expect(strip(apiTaps)).toEqual(strip(cliTaps));
    // Qdisc statistics move between the two reads: compared without them.
    const noStats = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === "stats" ? undefined : x)));
    expect(noStats(await get(`/api/qos?bridge=labm&tap=${taps[2]}`))).toEqual(
      noStats(await cli(["qos", "show", "labm", taps[2] as string])),
    );
    const bw = (await get("/api/bandwidth")) as { taps: [string, number, number][] };
    expect(bw.taps.map((t) => t[0]).sort()).toEqual([...taps].sort());
  }, 30_000);

  test("a topology read costs one OVSDB snapshot and one link dump (plus one per QoS tap's meter)", async () => {
    // A Bridges of its own: the two servers' background reads use env.bridges.
    const own = await env.open();
    const vswitch = own.ctx.vswitch;
    const links = own.ctx.rtnl.links;
    const snapshot = vswitch.snapshot.bind(vswitch);
    const list = links.list.bind(links);
    let snapshots = 0;
    let dumps = 0;
    vswitch.snapshot = () => {
      snapshots++;
      return snapshot();
    };
    links.list = ((...a: Parameters<typeof links.list>) => {
      dumps++;
      return list(...a);
    }) as typeof links.list;
    let topo: Topology;
    try {
      topo = await readTopology(own, undefined);
    } finally {
      vswitch.snapshot = snapshot;
      links.list = list;
    }
    // taps[2] has a rate limit: reading its ingress meter (userspace datapath) takes one more.
    expect(topo.taps.filter((t) => t.qos).map((t) => t.name)).toEqual([taps[2]]);
    expect(snapshots).toBe(2);
    expect(dumps).toBe(1);
    // The same answer as the separate reads.
    expect(topo.bridges).toEqual(await env.bridges.info());
    expect(topo.taps.map((t) => [t.name, t.bridge, t.vlan, t.mac])).toEqual(
      (await env.bridges.taps()).map((t) => [t.name, t.bridge, t.vlan, t.mac]),
    );
    await own.close();
  });

  test("the CLI: vmnet serve prints its URL, serves the page and the API, and stops at its limit", async () => {
    const lines: string[] = [];
    let running: Promise<number> | undefined;
    const printed = new Promise<string>((resolve) => {
      const out = (l: string) => {
        lines.push(l);
        const m = /serving (http:\S+)/.exec(l);
        if (m) resolve(m[1] as string);
      };
      const args = ["--db", env.ovs.remote, "--netns", env.ns.name, "--owner", env.owner];
      running = main(
        [...args, "serve", "--listen", "127.0.0.1:0", "--seconds", "4", "--state-dir", dir],
        out,
        (l) => lines.push(l),
      );
    });
    const url = await printed;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/vendor/cytoscape.min.js");
    for (const asset of ["/vendor/cytoscape.min.js", "/vendor/uPlot.iife.min.js", "/assets/app.js"])
      expect((await fetch(new URL(asset, url))).status, asset).toBe(200);
    const cliTaps = (await (await fetch(new URL("/api/taps", url))).json()) as { name: string }[];
    expect(cliTaps.map((t) => t.name).sort()).toEqual([...taps].sort());
    expect(await running).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  }, 30_000);

  test("security: a non-loopback bind needs a token; downloads need it always; tokens are checked", async () => {
    await expect(
      startServe({ bridges: env.bridges, listen: "0.0.0.0:0", log: () => {} }),
    ).rejects.toMatchObject({
      field: "token",
    });
    await expect(
      startServe({ bridges: env.bridges, listen: "[::]:0", log: () => {} }),
    ).rejects.toBeInstanceOf(VmnetInputError);
    const errs: string[] = [];
    expect(
      await main(
        ["serve", "--listen", "0.0.0.0:8080"],
        () => {},
        (l) => errs.push(l),
      ),
    ).toBe(2);
    expect(errs.join("\n")).toMatch(/token/);
    // A capture of a tap, finished by its packet limit, listed with its counters.
    // Listed without serve.addCapture: the served Bridges says which captures it started.
    const cap = await br.captureTap(taps[0] as string, { file: join(dir, "busy.pcap"), packets: 5 });
    const id = `c${cap.id}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const runningList = (await (await fetch(`${base(guarded)}/api/captures`, { headers: auth })).json()) as {
      id: string;
      bridge: string;
      iface: string;
      running: boolean;
    }[];
    expect(runningList.find((c) => c.id === id)).toMatchObject({ bridge: "labm", iface: taps[0] });
    await cap.done;
    // Handing it over as well lists it once, under the same id.
    expect(guarded.addCapture(cap)).toBe(id);
    const list = (await (await fetch(`${base(guarded)}/api/captures`, { headers: auth })).json()) as {
      id: string;
      packets: number;
      running: boolean;
      reason: string;
    }[];
    expect(list.filter((c) => c.id === id)).toEqual([
      expect.objectContaining({ packets: 5, running: false, reason: "packets" }),
    ]);
    expect((await fetch(`${base(guarded)}/api/captures`)).status).toBe(401);
    expect(
      (
        await fetch(`${base(guarded)}/api/captures`, {
          headers: { authorization: "Bearer wrong-token-0000000000" },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${base(guarded)}/metrics`)).status).toBe(401);
    expect((await fetch(`${base(guarded)}/api/captures/${id}/pcap`)).status).toBe(401);
    // The loopback server without a token refuses every download.
    expect((await fetch(`${base(open)}/api/captures/${id}/pcap`)).status).toBe(403);
    const dl = await fetch(`${base(guarded)}/api/captures/${id}/pcap?token=${TOKEN}`);
    expect(dl.status).toBe(200);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    // The same file also shows as a file of the pcap directory, by name, never by path.
    expect(
      (await fetch(`${base(guarded)}/api/captures/f-..%2Fbusy.pcap/pcap`, { headers: auth })).status,
    ).toBe(400);
    // Other methods are refused: the server changes nothing.
    expect((await fetch(`${base(open)}/api/taps`, { method: "POST" })).status).toBe(405);
    // A page elsewhere cannot reach the loopback server through a rebound name.
    expect(await rawStatus(open.address.port, "/api/taps", "evil.example:80")).toBe(421);
    expect(await rawStatus(open.address.port, "/api/taps")).toBe(200);
  }, 30_000);

  test("event streams opened and dropped 300 times leak no subscriber, fd or memory", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const fds = async () => (await import("node:fs/promises")).readdir("/proc/self/fd").then((l) => l.length);
    const once = async () => {
      const abort = new AbortController();
      const res = await fetch(`${base(open)}/events`, { signal: abort.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toMatch(/^event: topology/);
      abort.abort();
      await reader.closed.catch(() => {});
    };
    for (let i = 0; i < 20; i++) await once();
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => open.stats().subscribers === 0);
    gc();
    const fd0 = await fds();
    const rss0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 300; i++) await once();
    await until(() => open.stats().subscribers === 0);
    expect(open.stats().subscribers).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const fd1 = await fds();
    const heapGrowthMB = (process.memoryUsage().heapUsed - rss0) / 1e6;
    console.log(`300 event streams: fds ${fd0} -> ${fd1}, heap growth ${heapGrowthMB.toFixed(1)} MB`);
    expect(fd1 - fd0).toBeLessThanOrEqual(4);
    expect(heapGrowthMB).toBeLessThan(8);
  }, 60_000);

  test("fuzzed paths and query strings get 4xx, and the server keeps answering", async () => {
    const port = open.address.port;
    const known = new Set([
      "/",
      "/api/topology",
      "/api/bridges",
      "/api/taps",
      "/api/bandwidth",
      "/api/captures",
      "/api/containers",
      "/metrics",
      "/events",
    ]);
    const chars = fc.constantFrom(
      ..."abcz019/._-~%?&=#:;@!$'()*+,[]\\^`{}|\"<> \x7f\x00\u00e9\u2603".split(""),
    );
    const segment = fc.string({ unit: chars, minLength: 1, maxLength: 24 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          "/api/taps",
          "/api/qos",
          "/metrics",
          "/api/captures",
          "/assets",
          "/vendor",
          "/",
          "/api",
        ),
        segment,
        segment,
        async (prefix, a, b) => {
          // Bytes outside printable ASCII are percent-encoded so the request line stays one line.
          const enc = (s: string) =>
            [...Buffer.from(s, "utf8")]
              .map((c) =>
                c <= 0x20 || c >= 0x7f ? `%${c.toString(16).padStart(2, "0")}` : String.fromCharCode(c),
              )
              .join("");
          const pathTarget = `${prefix}/${enc(a)}`;
          const queryTarget = `${prefix}?${enc(a)}=${enc(b)}`;
          for (const target of [pathTarget, queryTarget]) {
            if (known.has(target)) continue;
            const status = await rawStatus(port, target);
            // Dot segments are resolved before routing (RFC 3986 5.2.4): "/assets/.." is "/", a
            // known page, and may be served as that page; it must still never be a server error.
            if (!target.includes("?") && known.has(resolvedPath(target))) {
              expect(status, target).toBeLessThan(500);
              continue;
            }
            expect(status, target).toBeGreaterThanOrEqual(400);
            expect(status, target).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect((await fetch(`${base(open)}/api/bridges`)).status).toBe(200);
  }, 60_000);
});
