// Results made by the real CNI plugins (Debian's containernetworking-plugins): bridge, ptp and
// macvlan with host-local IPAM, IPv4 and dual-stack, for every spec version they accept. Each
// test ADDs an interface into its own netns, checks the parsed result against what the kernel
// shows, converts it through every version, and DELs it with the result as prevResult.
// The plugins run in the test process's netns, which vmnet-isolate made private: the bridge,
// the host-side veths and the macvlan master live there, never on the host.

import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestNetns } from "@vmnet/harness";
import { describePrivileged, netnsTest } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, expect } from "vitest";
import {
  CNI_VERSIONS,
  type CniResult,
  type CniVersion,
  canonicalIp,
  convertResult,
  defaultGateway,
  fixResult,
  interfaceForIp,
  ipsForInterface,
  parseErrorResult,
  parseNetworkConfig,
  parseResult,
  type ResultV1,
  ROUTE_SCOPE_LINK,
  type Route,
  routesForInterface,
  serializeResult,
} from "../src/index.js";
import { globalAddresses, kernelDefaultGateway, kernelRoutes, linkSnapshot } from "./support/kernel.js";

const CNI_PATH = "/usr/lib/cni";
const IFNAME = "eth0";
const pool = Number(process.env.VITEST_POOL_ID ?? "1") % 50;
let counter = 0;

type Plugin = "bridge" | "ptp" | "macvlan";
type Stack = "ipv4" | "dual";

interface Run {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** The plugin binary; not looked up on PATH, where iproute2's `bridge` would win. */
function pluginPath(type: string): string {
  const path = join(CNI_PATH, type);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `${path} is missing: apt-get install containernetworking-plugins (scripts/setup.sh does this)`,
    );
  }
  return path;
}

async function runPlugin(
  command: "ADD" | "DEL",
  config: object,
  netns: TestNetns,
  containerId: string,
): Promise<Run> {
  const program = pluginPath((config as { type: string }).type);
  const { exitCode, stdout, stderr } = await execa(program, [], {
    input: JSON.stringify(config),
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: netns.path,
      CNI_IFNAME: IFNAME,
      CNI_PATH,
    },
    reject: false,
  });
  return { exitCode, stdout, stderr };
}

/** Links this file made in the shared isolated netns (bridges, macvlan masters), removed at the end. */
const madeLinks: string[] = [];
const dataDirs: string[] = [];
afterAll(async () => {
  for (const link of madeLinks) await execa("ip", ["link", "del", link], { reject: false });
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

/** A plugin configuration with its own subnets, data dir and (for bridge/macvlan) links. */
async function configFor(plugin: Plugin, stack: Stack, cniVersion: string, withRoutes = true) {
  counter += 1;
  const n = counter;
  const dataDir = await mkdtemp(join(tmpdir(), "cni-result-ipam-"));
  dataDirs.push(dataDir);
  const v4 = `10.${200 + pool}.${n}.0/24`;
  const v6 = `fd00:${pool}:${n}::/64`;
  const ipam = {
    type: "host-local",
    dataDir,
    ranges: stack === "dual" ? [[{ subnet: v4 }], [{ subnet: v6 }]] : [[{ subnet: v4 }]],
    routes: !withRoutes
      ? []
      : stack === "dual"
        ? [{ dst: "0.0.0.0/0" }, { dst: "::/0" }]
        : [{ dst: "0.0.0.0/0" }],
  };
  const base = { cniVersion, name: `crnet${pool}-${n}`, ipam };
  if (plugin === "bridge") {
    const bridge = `crb${pool}x${n}`;
    madeLinks.push(bridge);
    return { ...base, type: "bridge", bridge, isGateway: true };
  }
  if (plugin === "ptp") return { ...base, type: "ptp", ipMasq: false };
  // macvlan needs a master in the plugin's own netns: one end of a veth pair made for this test.
  const master = `crm${pool}x${n}`;
  madeLinks.push(master);
  await execa("ip", ["link", "add", master, "type", "veth", "peer", "name", `crp${pool}x${n}`]);
  // Both ends up: without carrier, IPv6 duplicate address detection never ends and the plugin
  // waits its full settle timeout.
  await execa("ip", ["link", "set", master, "up"]);
  await execa("ip", ["link", "set", `crp${pool}x${n}`, "up"]);
  return { ...base, type: "macvlan", master, mode: "bridge" };
}

/** Every conversion of a real result is valid, and converting up and back gives it back. */
function checkConversions(result: CniResult): void {
  for (const target of CNI_VERSIONS) {
    const converted = convertResult(result, target);
    expect(parseResult(serializeResult(converted))).toEqual(converted);
    if (CNI_VERSIONS.indexOf(target) >= CNI_VERSIONS.indexOf(result.cniVersion)) {
      expect(convertResult(converted, result.cniVersion)).toEqual(result);
    }
  }
}

async function addCheckDel(
  netns: TestNetns,
  plugin: Plugin,
  stack: Stack,
  version: CniVersion,
): Promise<void> {
  const config = await configFor(plugin, stack, version);
  const containerId = `cr-${netns.name}`;
  const add = await runPlugin("ADD", config, netns, containerId);
  expect(add.exitCode, `${plugin} ADD failed: ${add.stdout} ${add.stderr}`).toBe(0);

  const result = parseResult(add.stdout);
  expect(result.cniVersion).toBe(version);

  // The addresses in the result are the ones the kernel shows on eth0.
  const kernel = await globalAddresses(netns, IFNAME);
  expect(kernel).toHaveLength(stack === "dual" ? 2 : 1);
  const snapshot = await linkSnapshot(netns, IFNAME);

  // A 0.2.0 result names no interface: fixResult finds eth0 by its address. A newer result is
  // complete already, and fixResult leaves it as it is.
  const current = fixResult(result, [snapshot]);
  if (version === "0.2.0") {
    expect(current.interfaces).toEqual([{ name: IFNAME, mac: snapshot.mac, sandbox: netns.path }]);
  } else {
    expect(current).toEqual(convertResult(result, "1.0.0"));
  }
  const index = current.interfaces?.findIndex((iface) => iface.name === IFNAME) ?? -1;
  expect(index).toBeGreaterThanOrEqual(0);
  expect(
    ipsForInterface(current, index)
      .map((ip) => `${canonicalIp(ip.address)}/${ip.address.split("/")[1]}`)
      .sort(),
  ).toEqual([...kernel].sort());
  const [first] = kernel;
  if (!first) throw new Error("no address on eth0");
  const owner = interfaceForIp(current, first);
  expect(owner?.interface.name).toBe(IFNAME);
  expect(owner?.interface.mac).toBe(snapshot.mac);
  expect(owner?.interface.sandbox).toBe(netns.path);

  // The default routes the result reports are the ones the plugin installed.
  const families = stack === "dual" ? ([4, 6] as const) : ([4] as const);
  for (const family of families) {
    expect(defaultGateway(current, family)).toBe(await kernelDefaultGateway(netns, family));
  }
  expect(routesForInterface(current, index).map((route) => route.dst)).toEqual(
    stack === "dual" ? ["0.0.0.0/0", "::/0"] : ["0.0.0.0/0"],
  );

  checkConversions(result);

  // DEL gets the result as prevResult (libcni does so from 0.4.0 on); the config parses as one.
  const delConfig = version === "0.4.0" || version === "1.0.0" ? { ...config, prevResult: result } : config;
  expect(parseNetworkConfig(delConfig).prevResult).toEqual(
    version === "0.4.0" || version === "1.0.0" ? result : undefined,
  );
  const del = await runPlugin("DEL", delConfig, netns, containerId);
  expect(del.exitCode, `${plugin} DEL failed: ${del.stdout} ${del.stderr}`).toBe(0);
  const gone = await netns.exec("ip", ["link", "show", IFNAME], { reject: false });
  expect(gone.exitCode).not.toBe(0);
}

/** The first address of a subnet's range after the network: what host-local makes the gateway. */
function firstHost(cidr: string): string {
  const [network = ""] = cidr.split("/");
  return network.includes(":") ? network.replace(/::$/, "::1") : network.replace(/\.0$/, ".1");
}

const byDst = (a: Route, b: Route) => a.dst.localeCompare(b.dst);

/**
 * fixResult on a real plugin's result and the real eth0: wrong interface indexes are recomputed,
 * and a result without routes (IPAM gave none) takes the kernel's routes by the documented rule.
 */
async function fixAgainstKernel(netns: TestNetns, plugin: Plugin): Promise<void> {
  const config = await configFor(plugin, "dual", "1.0.0", false);
  const containerId = `cr-${netns.name}`;
  const add = await runPlugin("ADD", config, netns, containerId);
  expect(add.exitCode, `${plugin} ADD failed: ${add.stdout} ${add.stderr}`).toBe(0);
  const result = parseResult(add.stdout) as ResultV1;
  const snapshot = await linkSnapshot(netns, IFNAME);
  const eth0 = result.interfaces?.findIndex((i) => i.name === IFNAME && i.sandbox === netns.path) ?? -1;
  expect(eth0).toBeGreaterThanOrEqual(0);
  const addresses = (result.ips ?? []).map((ip) => ip.address);
  expect(addresses).toHaveLength(2);

  // Indexes: out of range, at the host-side veth (bridge, ptp) or at nothing; always eth0's after.
  const elsewhere = [99, eth0 + 1, undefined, ...(eth0 > 0 ? [0] : [])];
  for (const wrong of elsewhere) {
    const broken = { ...result, ips: (result.ips ?? []).map((ip) => ({ ...ip, interface: wrong })) };
    const fixed = fixResult(broken, [snapshot]);
    expect(fixed.ips?.map((ip) => ip.interface)).toEqual([eth0, eth0]);
    expect(fixed.interfaces).toEqual(result.interfaces);
    for (const address of addresses) {
      expect(interfaceForIp(fixed, address)?.interface).toEqual({
        name: IFNAME,
        mac: snapshot.mac,
        sandbox: netns.path,
      });
    }
  }

  // Routes: the plugin reported none. Every route fixResult adds is one the kernel has, with a
  // next hop, or (1.1.0 only) on-link with scope link; never a plain { dst }.
  expect(result.routes ?? []).toEqual([]);
  const kernel = await kernelRoutes(netns, IFNAME);
  const [v4 = "", v6 = ""] = config.ipam.ranges.map((range) => range[0]?.subnet ?? "");
  const gw4 = firstHost(v4);
  const gw6 = firstHost(v6);
  expect(result.ips?.map((ip) => ip.gateway)).toEqual([gw4, gw6]);
  for (const version of ["1.0.0", "1.1.0"] as const) {
    const fixed = fixResult(convertResult(result, version), [snapshot]);
    const routes = fixed.routes ?? [];
    for (const route of routes) {
      expect(route.gw !== undefined || (version === "1.1.0" && route.scope === ROUTE_SCOPE_LINK)).toBe(true);
      const inKernel = kernel.find((k) => k.dst === route.dst && k.gateway === route.gw);
      expect(inKernel, `${route.dst} via ${route.gw} is not a kernel route`).toBeDefined();
      expect(inKernel?.protocol).not.toBe("kernel");
      // IPv4 says so with scope link; IPv6 routes carry no scope (a route without gw is on-link).
      if (route.gw === undefined && !route.dst.includes(":")) expect(inKernel?.scope).toBe("link");
    }
    expect(fixed.ips?.map((ip) => ip.gateway)).toEqual([gw4, gw6]);
    if (plugin === "ptp") {
      // ptp: each subnet via its gateway; in 1.1.0 also the on-link route to each gateway.
      const expected: Route[] = [
        { dst: v4, gw: gw4 },
        { dst: v6, gw: gw6 },
      ];
      if (version === "1.1.0") {
        expected.push(
          { dst: `${gw4}/32`, scope: ROUTE_SCOPE_LINK },
          { dst: `${gw6}/128`, scope: ROUTE_SCOPE_LINK },
        );
      }
      expect([...routes].sort(byDst)).toEqual(expected.sort(byDst));
    } else {
      // bridge, macvlan: only the kernel's prefix routes, which a result leaves out.
      expect(fixed.routes).toBeUndefined();
    }
    expect(defaultGateway(fixed, 4)).toBeUndefined();
  }

  const del = await runPlugin("DEL", { ...config, prevResult: result }, netns, containerId);
  expect(del.exitCode, `${plugin} DEL failed: ${del.stdout} ${del.stderr}`).toBe(0);
}

const plugins: Plugin[] = ["bridge", "ptp", "macvlan"];
const versions: CniVersion[] = ["0.2.0", "0.3.1", "0.4.0", "1.0.0"];
const stacks: Stack[] = ["ipv4", "dual"];

describePrivileged("real CNI plugins", () => {
  for (const plugin of plugins) {
    for (const stack of stacks) {
      netnsTest.for(versions)(
        `${plugin} + host-local, ${stack}, cniVersion %s`,
        async (version, { netns }) => {
          await addCheckDel(netns, plugin, stack, version);
        },
      );
    }
  }

  for (const plugin of plugins) {
    netnsTest(
      `fixResult on ${plugin}'s dual-stack result without routes, with broken indexes`,
      async ({ netns }) => {
        await fixAgainstKernel(netns, plugin);
      },
    );
  }

  netnsTest(
    "a 1.1.0 configuration is refused with an error result naming the versions",
    async ({ netns }) => {
      const config = await configFor("bridge", "ipv4", "1.1.0");
      const add = await runPlugin("ADD", config, netns, `cr-${netns.name}`);
      expect(add.exitCode).not.toBe(0);
      const error = parseErrorResult(add.stdout);
      expect(error.code).toBe(1);
      expect(error.details).toContain('"1.0.0"');
      expect(() => parseResult(add.stdout)).toThrow("cniVersion: missing");
    },
  );
});
