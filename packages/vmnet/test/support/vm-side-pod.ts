// Pods made by the real CNI plugins (Debian's containernetworking-plugins in /usr/lib/cni), as a
// runtime makes them: the plugin runs in the test's (isolated) netns with CNI_NETNS naming the
// pod's. Each pod gets its own subnets, bridge and host-local data dir; `remove()` runs DEL and
// removes what the plugin left in the test netns.
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { execa } from "execa";

const CNI_PATH = "/usr/lib/cni";
const pool = Number(process.env.VITEST_POOL_ID ?? "1") % 50;
let counter = 0;

export type PluginKind = "bridge" | "bridge-dual" | "ptp" | "macvlan";

export interface Pod {
  netns: TestNetns;
  /** The plugin's printed result (parsed JSON). */
  result: Record<string, unknown> & { ips: { address: string; gateway?: string }[] };
  ifname: string;
  /** The IPv4 gateway the pod routes through. */
  gateway: string;
  /** An address beyond the gateway (in another netns, routed by the test netns). */
  beyond: string;
  /** An IPv6 address beyond the gateway (dual-stack pods). */
  beyond6?: string;
  /** The netns holding `beyond` (absent for macvlan, whose "beyond" is the gateway's LAN). */
  beyondNetns?: TestNetns;
  remove(): Promise<void>;
}

function plugin(type: string): string {
  const path = join(CNI_PATH, type);
  accessSync(path, constants.X_OK);
  return path;
}

async function run(
  command: "ADD" | "DEL",
  config: Record<string, unknown>,
  netns: TestNetns,
  ifname: string,
  id: string,
) {
  return execa(plugin(config.type as string), [], {
    input: JSON.stringify(config),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns.path, CNI_IFNAME: ifname, CNI_PATH },
    reject: false,
  });
}

/** A netns "beyond" the gateway: reached from the test netns through a veth, routed by it. */
async function beyondNetns(
  n: number,
  dual = false,
): Promise<{ ns: TestNetns; address: string; address6?: string; cleanup: () => Promise<void> }> {
  const ns = await createNetns("csnout");
  const here = `cso${pool}x${n}`;
  const subnet = `192.168.${100 + pool}.${n * 4}`;
  const base = subnet.split(".").slice(0, 3).join(".");
  const last = n * 4;
  await execa("ip", ["link", "add", here, "type", "veth", "peer", "name", "eth0", "netns", ns.name]);
  await execa("ip", ["addr", "add", `${base}.${last + 1}/30`, "dev", here]);
  await execa("ip", ["link", "set", here, "up"]);
  await execa("ip", ["-n", ns.name, "addr", "add", `${base}.${last + 2}/30`, "dev", "eth0"]);
  await execa("ip", ["-n", ns.name, "link", "set", "eth0", "up"]);
  await execa("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
  await execa("ip", ["-n", ns.name, "route", "add", "default", "via", `${base}.${last + 1}`]);
  await execa("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  let address6: string | undefined;
  if (dual) {
    // IPv6 beyond the gateway too (for dual-stack pods): fd00:be:POOL:N::2, routed the same way.
    const net6 = `fd00:be:${pool}:${n}::`;
    await execa("ip", ["addr", "add", `${net6}1/64`, "dev", here, "nodad"]);
    await execa("ip", ["-n", ns.name, "addr", "add", `${net6}2/64`, "dev", "eth0", "nodad"]);
    await execa("ip", ["-n", ns.name, "-6", "route", "add", "default", "via", `${net6}1`]);
    await execa("sysctl", ["-qw", "net.ipv6.conf.all.forwarding=1"]);
    address6 = `${net6}2`;
  }
  return {
    ns,
    address: `${base}.${last + 2}`,
    ...(address6 && { address6 }),
    cleanup: async () => {
      await execa("ip", ["link", "del", here], { reject: false });
      await ns.remove();
    },
  };
}

/** Makes a pod netns with one interface `ifname` from the plugin `kind`. */
export async function makePod(
  kind: PluginKind,
  options: { ifname?: string; mtu?: number; netns?: TestNetns; routes?: { dst: string }[] } = {},
): Promise<Pod> {
  counter += 1;
  const n = counter;
  const ifname = options.ifname ?? "eth0";
  const netns = options.netns ?? (await createNetns("csnpod"));
  const dataDir = await mkdtemp(join(tmpdir(), "csn-ipam-"));
  const v4 = `10.${150 + pool}.${n}.0/24`;
  const v6 = `fd00:c5:${pool}:${n}::/64`;
  const made: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let config: Record<string, unknown>;
  const mtu = options.mtu !== undefined ? { mtu: options.mtu } : {};
  if (kind === "bridge" || kind === "bridge-dual") {
    const dual = kind === "bridge-dual";
    const bridge = `csb${pool}x${n}`;
    made.push(bridge);
    config = {
      cniVersion: "1.0.0",
      name: `csn${pool}-${n}`,
      type: "bridge",
      bridge,
      isGateway: true,
      ...mtu,
      ipam: {
        type: "host-local",
        dataDir,
        ranges: dual ? [[{ subnet: v4 }], [{ subnet: v6 }]] : [[{ subnet: v4 }]],
        routes: options.routes ?? (dual ? [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] : [{ dst: "0.0.0.0/0" }]),
      },
    };
  } else if (kind === "ptp") {
    config = {
      cniVersion: "1.0.0",
      name: `csn${pool}-${n}`,
      type: "ptp",
      ipMasq: false,
      ...mtu,
      ipam: { type: "host-local", dataDir, ranges: [[{ subnet: v4 }]], routes: [{ dst: "0.0.0.0/0" }] },
    };
  } else {
    // macvlan: the master is one end of a veth whose other end, in a "LAN" netns, holds the gateway.
    const master = `csm${pool}x${n}`;
    made.push(master);
    const lan = await createNetns("csnlan");
    cleanups.push(() => lan.remove());
    await execa("ip", [
      "link",
      "add",
      master,
      ...(options.mtu ? ["mtu", String(options.mtu)] : []),
      "type",
      "veth",
      "peer",
      "name",
      "lan0",
      "netns",
      lan.name,
    ]);
    await execa("ip", ["link", "set", master, "up"]);
    if (options.mtu) await execa("ip", ["-n", lan.name, "link", "set", "lan0", "mtu", String(options.mtu)]);
    await execa("ip", ["-n", lan.name, "addr", "add", `10.${150 + pool}.${n}.1/24`, "dev", "lan0"]);
    await execa("ip", ["-n", lan.name, "link", "set", "lan0", "up"]);
    config = {
      cniVersion: "1.0.0",
      name: `csn${pool}-${n}`,
      type: "macvlan",
      master,
      mode: "bridge",
      ...mtu,
      ipam: {
        type: "static",
        addresses: [{ address: `10.${150 + pool}.${n}.5/24`, gateway: `10.${150 + pool}.${n}.1` }],
        routes: [{ dst: "0.0.0.0/0" }],
      },
    };
  }
  const id = `csn-${netns.name}-${n}`;
  const add = await run("ADD", config, netns, ifname, id);
  if (add.exitCode !== 0) throw new Error(`${config.type} ADD failed: ${add.stdout} ${add.stderr}`);
  const result = JSON.parse(String(add.stdout));
  const gateway = (result.ips as { address: string; gateway?: string }[]).find(
    (ip) => !ip.address.includes(":"),
  )?.gateway as string;
  let beyond = gateway;
  let farNetns: TestNetns | undefined;
  let beyond6: string | undefined;
  if (kind !== "macvlan") {
    const out = await beyondNetns(n, kind === "bridge-dual");
    beyond6 = out.address6;
    cleanups.push(out.cleanup);
    beyond = out.address;
    farNetns = out.ns;
  }
  return {
    netns,
    result,
    ifname,
    gateway,
    beyond,
    ...(farNetns && { beyondNetns: farNetns }),
    ...(beyond6 && { beyond6 }),
    async remove() {
      await run("DEL", { ...config, prevResult: result }, netns, ifname, id);
      for (const c of cleanups.reverse()) await c();
      for (const link of made) await execa("ip", ["link", "del", link], { reject: false });
      await rm(dataDir, { recursive: true, force: true });
      if (!options.netns) await netns.remove();
    },
  };
}

/** Everything a field-by-field comparison of a netns needs: links, addresses, routes, nftables. */
export async function netnsState(netns: TestNetns) {
  const links = (await netns.ipJson(["-d", "link", "show"])).map((l) => ({
    name: l.ifname,
    kind: l.linkinfo?.info_kind,
    mac: l.address,
    mtu: l.mtu,
    up: (l.flags as string[]).includes("UP"),
    master: l.master,
    alias: l.ifalias,
    txqlen: l.txqlen,
    group: l.group,
  }));
  const addresses = (await netns.ipJson(["addr", "show"])).flatMap((l) =>
    (l.addr_info as { family: string; local: string; prefixlen: number; scope: string; broadcast?: string }[])
      .filter((a) => !(a.family === "inet6" && a.local.startsWith("fe80:")))
      .map(
        (a) => `${l.ifname} ${a.family} ${a.local}/${a.prefixlen} scope ${a.scope} brd ${a.broadcast ?? "-"}`,
      ),
  );
  const routes = [
    ...(await netns.ipJson(["-4", "route", "show", "table", "all"])),
    ...(await netns.ipJson(["-6", "route", "show", "table", "all"])),
  ]
    .filter((r) => !(r.table === "local"))
    .map((r) =>
      JSON.stringify({
        dst: r.dst,
        gw: r.gateway,
        dev: r.dev,
        proto: r.protocol,
        scope: r.scope,
        metric: r.metric,
        flags: r.flags,
        table: r.table,
      }),
    )
    .sort();
  const nft = String((await netns.exec("nft", ["list", "ruleset"], { reject: false })).stdout);
  const tc = String((await netns.exec("tc", ["qdisc", "show"], { reject: false })).stdout)
    .split("\n")
    .filter((l) => l.startsWith("qdisc"))
    .join("\n");
  // Every forwarding / router-advertisement / IPv6-on sysctl of the netns (all, default, each link).
  const sysctls = String(
    (
      await netns.exec("sh", [
        "-c",
        'for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/forwarding /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/accept_ra /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo "$f=$(cat $f)"; done',
      ])
    ).stdout,
  )
    .split("\n")
    .filter((l) => l.includes("="))
    .sort();
  return { links, addresses: addresses.sort(), routes, nft, tc, sysctls };
}
