// Virtlet's link helpers, each acting in the netns it is given (never the caller's thread's):
// veths (also the "escape" pair whose other end lives in another netns), bridges the way the
// container-side network builds them, TAPs that carry our mark.
import { randomBytes } from "node:crypto";
import {
  formatOwnerMark,
  type Link,
  type NetnsRef,
  netnsPath,
  openTap as openKernelTap,
  ownerMarkForThisProcess,
  parseOwnerMark,
  type Tap,
} from "@vmnet/netlink-native";
import { VmnetError, VmnetInputError } from "../errors.js";
import { checkNetns, withRtnl } from "./netns.js";
import { checkIfName } from "./options.js";

const mark = (role: string, owner = "vmnet") => formatOwnerMark(ownerMarkForThisProcess(owner, role));

/** A random veth name ("veth" and 8 hex digits, 12 bytes), as Virtlet's RandomVethName. */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString("hex")}`;
}

/** The one veth of the netns (Virtlet's FindVeth); VmnetError when there is none or several. */
export async function findVeth(netns: NetnsRef): Promise<Link> {
  const veths = await withRtnl(netns, async (rtnl) =>
    (await rtnl.links.list()).filter((l) => l.kind === "veth"),
  );
  if (veths.length !== 1)
    throw new VmnetError(
      `expected one veth in ${netnsPath(netns)}, found ${veths.length} (${veths.map((v) => v.name).join(", ")})`,
    );
  return veths[0] as Link;
}

export interface VethOptions {
  /** Name in `netns`. */
  name: string;
  /** Name of the other end, in `peerNetns`. */
  peerName: string;
  peerNetns: NetnsRef;
  mtu?: number;
  mac?: string;
  owner?: string;
}

/** Creates a veth pair across two namespaces, both ends up and marked; returns both links. */
export async function setupVeth(netns: NetnsRef, options: VethOptions): Promise<{ link: Link; peer: Link }> {
  checkIfName(options.name, "name");
  checkIfName(options.peerName, "peerName");
  const { path: peerPath } = checkNetns(options.peerNetns, "peerNetns");
  const alias = mark("veth", options.owner);
  return withRtnl(netns, async (rtnl) => {
    const link = await rtnl.links.add({
      kind: "veth",
      name: options.name,
      alias,
      up: true,
      ...(options.mtu !== undefined && { mtu: options.mtu }),
      ...(options.mac !== undefined && { mac: options.mac }),
      peer: {
        name: options.peerName,
        netns: { path: peerPath },
        ...(options.mtu !== undefined && { mtu: options.mtu }),
      },
    });
    try {
      const peer = await withRtnl({ path: peerPath }, async (peerRtnl) => {
        await peerRtnl.links.set(options.peerName, { alias, up: true });
        return peerRtnl.links.get(options.peerName);
      });
      return { link: await rtnl.links.get(link.index), peer };
    } catch (e) {
      await rtnl.links.deleteIfExists(link.index);
      throw e;
    }
  });
}

/**
 * Virtlet's CreateEscapeVethPair: a veth pair with random names, one end in `netns`, the other
 * in `hostNetns` (so traffic can leave the pod around the VM), both up and marked.
 */
export function createEscapeVethPair(
  netns: NetnsRef,
  options: { hostNetns: NetnsRef; mtu?: number; owner?: string },
): Promise<{ link: Link; peer: Link }> {
  return setupVeth(netns, {
    name: randomVethName(),
    peerName: randomVethName(),
    peerNetns: options.hostNetns,
    ...(options.mtu !== undefined && { mtu: options.mtu }),
    ...(options.owner !== undefined && { owner: options.owner }),
  });
}

export interface BridgeOptions {
  name: string;
  /** Links to enslave (all brought up). */
  links: (string | number)[];
  mtu?: number;
  /** Address to give the bridge, e.g. "169.254.254.2/24". */
  address?: string;
  owner?: string;
}

/**
 * A bridge as the container-side network makes it: the MTU given (or the first link's), a
 * non-zero txqueuelen, MAC ageing 0 (every frame flooded, so the VM's MAC never has to be
 * learned), marked; the links enslaved and everything up. On failure nothing is left.
 */
export async function setupBridge(netns: NetnsRef, options: BridgeOptions): Promise<Link> {
  checkIfName(options.name, "name");
  return withRtnl(netns, async (rtnl) => {
    const indexes = await Promise.all(options.links.map((l) => rtnl.links.index(l))).catch((e: Error) => {
      throw new VmnetInputError("links", e.message);
    });
    const mtu =
      options.mtu ?? (indexes[0] !== undefined ? (await rtnl.links.get(indexes[0])).mtu : undefined);
    const masters = new Map((await rtnl.links.list()).map((l) => [l.index, l]));
    const bridge = await rtnl.links.add({
      kind: "bridge",
      name: options.name,
      txqlen: 1000,
      ageingTime: 0,
      alias: mark("bridge", options.owner),
      ...(mtu !== undefined && { mtu }),
    });
    try {
      for (const index of indexes) await rtnl.links.set(index, { master: bridge.index, up: true });
      await rtnl.links.up(bridge.index);
      if (options.address) await rtnl.addresses.add(bridge.index, options.address);
      return await rtnl.links.get(bridge.index);
    } catch (e) {
      await rtnl.links.deleteIfExists(bridge.index);
      for (const index of indexes) {
        const before = masters.get(index);
        if (before && !before.up) await rtnl.links.down(index);
      }
      throw e;
    }
  });
}

/** Releases the bridge's links and deletes it; only a bridge that carries our mark. */
export async function teardownBridge(netns: NetnsRef, name: string): Promise<void> {
  await withRtnl(netns, async (rtnl) => {
    const bridge = await rtnl.links.find(name);
    if (!bridge) return;
    if (bridge.kind !== "bridge") throw new VmnetError(`${name} is a ${bridge.kind ?? "link"}, not a bridge`);
    if (!parseOwnerMark(bridge.alias))
      throw new VmnetError(`${name} was not created by vmnet (no mark); left alone`);
    const ports = (await rtnl.links.list()).filter((l) => l.master === bridge.index);
    for (const port of ports) await rtnl.links.set(port.index, { master: null });
    await rtnl.links.delete(bridge.index);
  });
}

export interface OpenTapOptions {
  name: string;
  vnetHdr?: boolean;
  queues?: number;
  mtu?: number;
  mac?: string;
  /** Keep the device when the fds close (default true: the VM may be restarted). */
  persist?: boolean;
  owner?: string;
}

/** Opens (creating) a TAP in the netns, marked, with the MTU/MAC given, up. */
export async function openTap(netns: NetnsRef, options: OpenTapOptions): Promise<Tap> {
  checkIfName(options.name, "name");
  const { path } = checkNetns(netns);
  const tap = await openKernelTap({
    name: options.name,
    netns: { path },
    vnetHdr: options.vnetHdr ?? false,
    queues: options.queues ?? 1,
    persist: options.persist ?? true,
  });
  try {
    await withRtnl({ path }, (rtnl) =>
      rtnl.links.set(tap.index, {
        alias: mark("tap", options.owner),
        up: true,
        ...(options.mtu !== undefined && { mtu: options.mtu }),
        ...(options.mac !== undefined && { mac: options.mac }),
      }),
    );
    return tap;
  } catch (e) {
    await tap.close().catch(() => undefined);
    if (options.persist ?? true) await withRtnl({ path }, (rtnl) => rtnl.links.deleteIfExists(tap.index));
    throw e;
  }
}
