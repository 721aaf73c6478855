// ContainerSideNetwork against real peers: pods made by the real CNI plugins (bridge + host-local
// IPv4 and dual-stack, ptp, macvlan with static IPAM), a VM side played by a frame relay on the
// TAP fd, real DHCP clients (busybox udhcpc, dhcpcd) in the VM netns that must obtain exactly the
// CNI identity, pings through the CNI gateway and beyond it, tcpdump on the CNI interface seeing
// no DHCP while tcpdump on the TAP sees the exchange, and the pod's netns compared field by field
// after teardown.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import { VmnetInputError } from "../src/errors.js";
import { type ContainerSideNetwork, setupContainerSideNetwork, type WiringMode } from "../src/index.js";
import { installed, startUdhcpc } from "./support/dhcp-peers.js";
import { runDhcpcd, startVmSide, type VmSide } from "./support/vm-side.js";
import { makePod, netnsState, type PluginKind, type Pod } from "./support/vm-side-pod.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "csn-state-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function vmSide(csn: ContainerSideNetwork, i = 0): Promise<VmSide> {
  const iface = csn.interfaces[i];
  if (!iface) throw new Error("no interface");
  const side = await startVmSide(iface.tap.fds[0] as number, iface.hardwareAddr);
  cleanups.push(() => side.stop());
  return side;
}

async function ping(side: VmSide, address: string, size?: number): Promise<void> {
  const args = [
    "-c",
    "2",
    "-i",
    "0.2",
    "-W",
    "2",
    ...(size ? ["-s", String(size), "-M", "do"] : []),
    address,
  ];
  const r = await side.vm.exec("ping", args, { reject: false });
  expect(r.exitCode, `ping ${args.join(" ")} from the VM: ${r.stdout}`).toBe(0);
}

/** tcpdump counting DHCP (v4 and v6) frames on a device of the pod. */
async function dhcpWatch(netns: TestNetns, dev: string): Promise<() => Promise<number>> {
  const child: ChildProcess = spawn(
    "ip",
    [
      "netns",
      "exec",
      netns.name,
      "tcpdump",
      "-i",
      dev,
      "-nn",
      "-l",
      "udp and (port 67 or port 68 or port 546 or port 547)",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let lines = 0;
  child.stdout?.on("data", (d: Buffer) => {
    lines += d
      .toString()
      .split("\n")
      .filter((l) => l.trim()).length;
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      if (d.toString().includes("listening on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`tcpdump exited with ${code}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await gone;
    }
    return lines;
  };
  cleanups.push(async () => {
    await stop();
  });
  return stop;
}

const ipv4Of = (p: Pod) => {
  const ip = p.result.ips.find((x) => !x.address.includes(":"));
  if (!ip) throw new Error("no IPv4");
  return ip;
};

interface Scenario {
  plugin: PluginKind;
  mode: WiringMode;
  client: "udhcpc" | "dhcpcd";
  mtu?: number;
  /** Watch the CNI interface and the TAP with tcpdump. */
  watch?: boolean;
}

/** Obtains a lease on the VM side with the chosen client; returns what it installed and the DNS it got. */
async function lease(side: VmSide, client: "udhcpc" | "dhcpcd") {
  if (client === "udhcpc") {
    const handle = await startUdhcpc(side.vm, side.iface);
    const run = await handle.done();
    expect(run.exitCode, run.stderr).toBe(0);
    const bound = run.events.find((e) => e.event === "bound");
    return { got: await installed(side.vm, side.iface), dns: (bound?.env.dns ?? "").trim().split(/\s+/) };
  }
  const run = await runDhcpcd(side.vm, side.iface);
  expect(run.exitCode, run.output).toBe(0);
  // dhcpcd applies the MTU to the routes it installs (not to the interface): read it from its hook.
  const got = await installed(side.vm, side.iface);
  got.mtu = Number(run.env.new_interface_mtu);
  return { got, dns: (run.env.new_domain_name_servers ?? "").trim().split(/\s+/) };
}

const DNS = { nameservers: ["10.96.0.10"], search: ["pod.example"] };

async function scenario(s: Scenario): Promise<void> {
  const p = await makePod(s.plugin, s.mtu ? { mtu: s.mtu } : {});
  cleanups.push(() => p.remove());
  const before = await netnsState(p.netns);
  const csn = await setupContainerSideNetwork({
    netns: p.netns.name,
    // Real plugins print an empty dns: the runtime adds the cluster's, as kubelet does.
    result: { ...p.result, dns: DNS },
    mode: s.mode,
    stateDir: await stateDir(),
  });
  cleanups.push(() => csn.teardown());
  const mtu = s.mtu ?? 1500;
  expect(csn.interfaces).toHaveLength(1);
  const iface = csn.interfaces[0];
  const eth0 = before.links.find((l) => l.name === p.ifname);
  expect(iface?.hardwareAddr).toBe(eth0?.mac);
  expect(iface?.mtu).toBe(mtu);
  expect(iface?.tap.name).toBe("tap0");
  expect(csn.result.dns).toEqual(DNS);
  const during = await netnsState(p.netns);
  expect(during.addresses.filter((a) => a.startsWith(`${p.ifname} `))).toEqual([]);
  expect(
    during.routes.filter((r) => r.includes(`"dev":"${p.ifname}"`) && !r.includes('"proto":"kernel"')),
  ).toEqual([]);
  const tap = during.links.find((l) => l.name === "tap0");
  expect(tap?.mtu).toBe(mtu);
  expect(tap?.alias).toMatch(/^vmnet:1 owner=vmnet pid=\d+@\d+ role=csn$/);
  if (s.mode === "bridge") {
    expect(during.links.find((l) => l.name === p.ifname)?.mac).not.toBe(eth0?.mac);
    expect(during.links.find((l) => l.name === p.ifname)?.master).toBe("br0");
    expect(tap?.master).toBe("br0");
    const br0 = during.links.find((l) => l.name === "br0");
    expect(br0).toMatchObject({ mtu, up: true, txqlen: 1000, alias: tap?.alias });
    expect((await p.netns.ipJson(["-d", "link", "show", "br0"]))[0].linkinfo.info_data.ageing_time).toBe(0);
    expect(during.addresses).toContain("br0 inet 169.254.254.2/24 scope global brd -");
    expect(during.nft).toContain(`iifname "${p.ifname}" udp dport 67-68 drop`);
    expect(during.nft).toContain(`oifname "${p.ifname}" udp dport 546-547 drop`);
  } else {
    expect(tap?.mac).toBe(eth0?.mac);
    expect(during.tc).toContain(`qdisc ingress ffff: dev ${p.ifname}`);
    expect(during.tc).toContain("qdisc ingress ffff: dev tap0");
  }

  const side = await vmSide(csn);
  const onCni = s.watch ? await dhcpWatch(p.netns, p.ifname) : undefined;
  const onTap = s.watch ? await dhcpWatch(p.netns, "tap0") : undefined;
  const { got, dns } = await lease(side, s.client);
  const [address, prefix] = ipv4Of(p).address.split("/");
  expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${address}/${prefix}`]);
  // dhcpcd puts the MTU on its routes ("default via GW mtu 1500").
  expect(
    got.routes.filter(
      (r) => r === `default via ${ipv4Of(p).gateway}` || r.startsWith(`default via ${ipv4Of(p).gateway} `),
    ),
  ).toHaveLength(1);
  expect(got.mtu).toBe(mtu);
  expect(dns).toEqual(DNS.nameservers);
  await ping(side, p.gateway);
  await ping(side, p.beyond);
  if (mtu > 1500) await ping(side, p.gateway, mtu - 28);
  if (onCni && onTap) {
    const seenOnTap = await onTap();
    const seenOnCni = await onCni();
    expect(seenOnTap, "tcpdump on tap0 sees the DHCP exchange").toBeGreaterThanOrEqual(2);
    expect(seenOnCni, `tcpdump on ${p.ifname} sees no DHCP`).toBe(0);
  }

  await side.stop();
  await csn.teardown();
  expect(await netnsState(p.netns)).toEqual(before);
  await csn.teardown(); // idempotent
  expect(await netnsState(p.netns)).toEqual(before);
}

describePrivileged("ContainerSideNetwork with real CNI plugins and DHCP clients", () => {
  test("bridge mode refuses a macvlan interface (it only receives its own MAC), netns unchanged", async () => {
    const p = await makePod("macvlan");
    cleanups.push(() => p.remove());
    const before = await netnsState(p.netns);
    const error = await setupContainerSideNetwork({
      netns: p.netns.name,
      result: p.result,
      mode: "bridge",
      stateDir: await stateDir(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmnetInputError);
    expect((error as VmnetInputError).field).toBe("mode");
    expect(await netnsState(p.netns)).toEqual(before);
  });

  const scenarios: Scenario[] = [
    { plugin: "bridge", mode: "bridge", client: "udhcpc", watch: true },
    { plugin: "bridge", mode: "tcfilter", client: "udhcpc", watch: true },
    { plugin: "bridge", mode: "bridge", client: "dhcpcd" },
    { plugin: "bridge-dual", mode: "bridge", client: "dhcpcd", mtu: 9000 },
    { plugin: "bridge-dual", mode: "tcfilter", client: "udhcpc", mtu: 9000 },
    { plugin: "ptp", mode: "bridge", client: "udhcpc" },
    { plugin: "ptp", mode: "tcfilter", client: "dhcpcd" },
    { plugin: "macvlan", mode: "tcfilter", client: "udhcpc" },
  ];
  for (const mode of ["bridge", "tcfilter"] as const) {
    test(`${mode} mode, two CNI interfaces, result read from the links: tapN/brN each, each VM NIC gets its identity`, async () => {
      const first = await makePod("bridge");
      cleanups.push(() => first.remove());
      // The second network routes one subnet (the default route is the first one's).
      const second = await makePod("bridge", {
        netns: first.netns,
        ifname: "net1",
        routes: [{ dst: "10.254.0.0/16" }],
      });
      cleanups.push(() => second.remove());
      const before = await netnsState(first.netns);
      const csn = await setupContainerSideNetwork({
        netns: first.netns.name,
        mode,
        stateDir: await stateDir(),
      });
      cleanups.push(() => csn.teardown());
      expect(csn.interfaces.map((i) => [i.name, i.tap.name, i.bridge])).toEqual([
        ["eth0", "tap0", mode === "bridge" ? "br0" : undefined],
        ["net1", "tap1", mode === "bridge" ? "br1" : undefined],
      ]);
      // The result was read from the links: both identities, the default route's gateway.
      expect(csn.result.ips?.map((ip) => ip.address).sort()).toEqual(
        [ipv4Of(first).address, ipv4Of(second).address].sort(),
      );
      for (const [i, pod] of [first, second].entries()) {
        const side = await vmSide(csn, i);
        const handle = await startUdhcpc(side.vm, side.iface);
        const run = await handle.done();
        expect(run.exitCode, run.stderr).toBe(0);
        const got = await installed(side.vm, side.iface);
        expect(got.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([ipv4Of(pod).address]);
        await ping(side, pod.gateway);
        if (i === 0) expect(got.routes).toContain(`default via ${pod.gateway}`);
        else expect(got.routes).toContain(`10.254.0.0/16 via ${pod.gateway}`);
        await side.stop();
      }
      await csn.teardown();
      expect(await netnsState(first.netns)).toEqual(before);
    });
  }
  for (const s of scenarios) {
    test(`${s.mode} mode, ${s.plugin} plugin, MTU ${s.mtu ?? 1500}, ${s.client}${s.watch ? ", tcpdump" : ""}`, () =>
      scenario(s));
  }
});
