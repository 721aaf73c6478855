// A switch for bridges tests: a named netns with a private OVS (userspace datapath) and a Bridges
// opened on it, plus helpers for "VM" namespaces.
import { createNetns, type TestNetns, uniqueName } from "@vmnet/harness";
import { OvsSandbox } from "@vmnet/ovs";
import { execa } from "execa";
import { Bridges, type BridgesOptions } from "../../src/index.js";

export interface SwitchEnv {
  ns: TestNetns;
  ovs: OvsSandbox;
  bridges: Bridges;
  owner: string;
  open(options?: BridgesOptions): Promise<Bridges>;
  stop(): Promise<void>;
}

export async function startSwitch(): Promise<SwitchEnv> {
  const ns = await createNetns("bsw");
  const ovs = await OvsSandbox.start({ netns: ns.name });
  const owner = uniqueName("own").replace(/-/g, ".");
  const open = (options: BridgesOptions = {}) =>
    Bridges.open({ db: ovs.remote, netns: ns.name, datapathType: "netdev", owner, ...options });
  const bridges = await open();
  return {
    ns,
    ovs,
    bridges,
    owner,
    open,
    async stop() {
      await bridges.close().catch(() => {});
      await ovs.stop();
      await ns.remove();
    },
  };
}

export async function ping(ns: TestNetns, address: string, attempts = 5): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const r = await ns.exec("ping", ["-c", "1", "-W", "1", address], { reject: false });
    if (r.exitCode === 0) return true;
  }
  return false;
}

export async function linkAlias(ns: string, name: string): Promise<string | undefined> {
  const r = await execa("ip", ["-n", ns, "-j", "link", "show", "dev", name], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return (JSON.parse(r.stdout) as { ifalias?: string }[])[0]?.ifalias;
}

export async function linkNames(ns: string): Promise<string[]> {
  const r = await execa("ip", ["-n", ns, "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

export async function vsctl(env: SwitchEnv, args: string[]): Promise<string> {
  return (await execa("ovs-vsctl", [`--db=${env.ovs.remote}`, ...args])).stdout;
}
