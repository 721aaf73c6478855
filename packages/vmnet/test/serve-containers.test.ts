// vmnet serve shows container-side networks from their journals: a real pod made by the CNI
// bridge plugin, handed to a "VM" by setupContainerSideNetwork, appears in /api/containers with
// its TAP, mode and the lease its DHCP server serves, and in /metrics; gone after teardown.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error: the parser ships no types
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, expect, test } from "vitest";
import { setupContainerSideNetwork } from "../src/index.js";
import { type ServeHandle, startServe } from "../src/serve/index.js";
import { type SwitchEnv, startSwitch } from "./support/bridges-env.js";
import { makePod, type Pod } from "./support/vm-side-pod.js";

let env: SwitchEnv;
let serve: ServeHandle;
let dir: string;
let pod: Pod;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "serve-csn-"));
  env = await startSwitch();
  pod = await makePod("bridge");
  serve = await startServe({ bridges: env.bridges, listen: "127.0.0.1:0", stateDir: dir, log: () => {} });
}, 60_000);

afterAll(async () => {
  await serve?.close();
  await pod?.remove();
  await env?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("a container-side network appears with its pod, TAP, mode and lease, and goes with teardown", async () => {
  const csn = await setupContainerSideNetwork({
    netns: pod.netns.name,
    result: pod.result,
    mode: "bridge",
    stateDir: dir,
  });
  try {
    await serve.refresh();
    const base = `http://127.0.0.1:${serve.address.port}`;
    const list = (await (await fetch(`${base}/api/containers`)).json()) as unknown[];
    expect(list).toEqual([
      {
        pod: pod.netns.name,
        mode: "bridge",
        complete: true,
        interfaces: [
          {
            name: pod.ifname,
            tap: csn.interfaces[0]?.tap.name,
            mac: csn.interfaces[0]?.hardwareAddr,
            bridge: csn.interfaces[0]?.bridge,
            lease: pod.result.ips
              .filter((ip) => !ip.address.includes(":"))
              .concat(pod.result.ips.filter((ip) => ip.address.includes(":")))
              .map((ip) => ({ address: ip.address, gateway: ip.gateway })),
          },
        ],
      },
    ]);
    const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text()) as {
      name: string;
      metrics: { labels: Record<string, string>; value: string }[];
    }[];
    const leases = families.find((f) => f.name === "vmnet_dhcp_leases_served");
    expect(leases?.metrics).toEqual([
      {
        labels: { pod: pod.netns.name, tap: csn.interfaces[0]?.tap.name, mode: "bridge" },
        value: String(pod.result.ips.length),
      },
    ]);
  } finally {
    await csn.teardown();
  }
  await serve.refresh();
  expect(await (await fetch(`http://127.0.0.1:${serve.address.port}/api/containers`)).json()).toEqual([]);
}, 60_000);
